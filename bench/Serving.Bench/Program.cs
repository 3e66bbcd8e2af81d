using EventMlOps.Bench;
using EventMlOps.Serving.Bench;

// Child-process mode: one of the baseline servers (see BaselineServers).
if (args is ["--serve", var kind, "--port", var port, .. var rest])
    return await BaselineServers.RunAsync(kind, rest is ["--model", var model] ? model : null, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
return await BenchMain.RunAsync(args, BenchOptions.Usage, BenchOptions.Parse, ServingRun.RunAsync);
