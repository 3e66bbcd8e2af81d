using EventMlOps.Bench;
using EventMlOps.ControlPlane.Bench;

return await BenchMain.RunAsync(args, BenchOptions.Usage, BenchOptions.Parse, BenchRun.RunAsync);
