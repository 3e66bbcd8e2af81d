using EventMlOps.Bench;
using EventMlOps.Streams.Bench;

return await BenchMain.RunAsync(args, BenchOptions.Usage, BenchOptions.Parse, StreamsRun.RunAsync);
