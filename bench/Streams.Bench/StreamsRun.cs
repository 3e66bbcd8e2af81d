using EventMlOps.Bench;
using EventMlOps.Serving.Bench;
using static EventMlOps.Bench.Text;

namespace EventMlOps.Streams.Bench;

/// <summary>The whole benchmark: the model, the in-process throughput against ONNX Runtime alone, then end to end at each
/// rate, and the issue's targets.</summary>
public static class StreamsRun
{
    public const double PerCoreTarget = 50_000, DelayTargetMs = 100;

    /// <summary>Machines of the in-process measurements (one reading each per slot: a batch as the 100× rate sends it).</summary>
    private const int InProcessMachines = 200;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var output = Console.Out;
        var repo = BenchModels.RepoRoot();
        var home = Path.Combine(repo, ".emo", "streams-bench");
        Directory.CreateDirectory(home);
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        var ct = cts.Token;
        var serve = Path.Combine(repo, "src", "Serving", "bin", "Release", "net10.0", "emo-serve.dll");
        if (!File.Exists(serve)) throw new InvalidOperationException($"emo-serve is not built: {serve} (dotnet build bench/Streams.Bench -c Release builds it)");

        output.WriteLine("EventMlOps stream scorer benchmark");
        output.WriteLine($"  machine   {Machine()}");
        output.WriteLine($"  logs      {home}/*.log");
        output.WriteLine();
        output.WriteLine($"Model (the real trainer, one epoch, on readings {SensorModel.IntervalMs} ms apart)");
        var model = await SensorModel.TrainAsync(home, output, ct);

        output.WriteLine();
        output.WriteLine($"In-process: {options.InProcessReadings:N0} readings of {InProcessMachines} machines, one batch per {SensorModel.IntervalMs} ms slot " +
                         $"({InProcessMachines} readings), every reading closing a window (stride 1)");
        var inProcess = await InProcess.RunAsync(model, InProcessMachines, options.InProcessReadings);
        var baseline = inProcess[0];
        Table(output, ["measure", "readings/s", "readings/s per core", "windows", "× baseline (per core)", "cpu % bench/other"],
            inProcess.Select(r => new[]
            {
                r.Name, N(r.PerSecond, 0), N(r.PerCore, 0), r.Windows.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                N(r.PerCore / baseline.PerCore), $"{N(r.Cpu.Bench, 0)}/{N(r.Cpu.Other, 0)}",
            }));

        output.WriteLine();
        output.WriteLine($"End to end: emo-serve --stream on the PostgreSQL queue, {options.Seconds:N0} s per rate, one message per {options.BatchMs} ms of readings " +
                         $"({1000 / options.BatchMs} messages/s)");
        var results = new List<EndToEndResult>();
        await using (var e2e = await EndToEnd.StartAsync(home, serve, model, ct))
        {
            var warm = await e2e.RunAsync("warm", BenchOptions.PaperRate, TimeSpan.FromSeconds(2), options.BatchMs, ct); // first batches: handler code, connections
            output.WriteLine($"  warm-up: {warm.Placed:N0} of {warm.Sent:N0} readings placed");
            foreach (var rate in options.Rates)
            {
                var r = await e2e.RunAsync($"r{rate}", rate, TimeSpan.FromSeconds(options.Seconds), options.BatchMs, ct);
                output.WriteLine($"  {rate,6:N0} readings/s offered: {r.Achieved:N0}/s placed, delay p50 {N(r.DelayP50Ms)} ms p95 {N(r.DelayP95Ms)} ms, cpu % bench/server/other {r.Cpu}");
                results.Add(r);
            }
        }
        var window = (WindowSteps(model) - 1) * SensorModel.IntervalMs;
        Table(output, ["offered/s", "machines", "sent", "placed", "late/dup", "windows scored/incomplete", "achieved/s", "delay p50 ms", "delay p95 ms",
                "scoring p95 ms", "sender lag p95 ms", "per server core/s", "cpu % bench/server/other"],
            results.Select(r => new[]
            {
                N(r.Rate, 0), N(r.Machines, 0), N(r.Sent, 0), N(r.Placed, 0), $"{r.Late}/{r.Duplicate}", $"{N(r.Scored, 0)}/{N(r.Incomplete, 0)}", N(r.Achieved, 0),
                N(r.DelayP50Ms), N(r.DelayP95Ms), N(r.ScoringP95Ms), N(r.SendLagP95Ms), N(r.PerServerCore, 0), r.Cpu.ToString(),
            }));
        output.WriteLine($"  delay: the scorer's emo_stream_event_delay_seconds (a window's last reading → its score); the window spans {window} ms " +
                         $"({WindowSteps(model)} readings {SensorModel.IntervalMs} ms apart), so its first reading waited delay + {window} ms");
        output.WriteLine("  server: emo-serve and its PostgreSQL together; bench: this process, the sender");

        output.WriteLine();
        output.WriteLine("Targets");
        var scorer = inProcess.Single(r => r.Name.StartsWith("windowing + scoring (", StringComparison.Ordinal));
        Verdict(output, $"≥ {PerCoreTarget:N0} readings/s per core through windowing + scoring", $"{N(scorer.PerCore, 0)} per core ({N(scorer.PerCore / baseline.PerCore)}× ONNX Runtime alone)",
            scorer.PerCore >= PerCoreTarget);
        foreach (var r in results)
            Verdict(output, $"{r.Rate:N0} readings/s ({r.Rate / BenchOptions.PaperRate}× the paper's): kept up (≥ 95 %), delay p95 ≤ window + {DelayTargetMs:N0} ms",
                $"{N(r.Achieved, 0)}/s, p95 {N(r.DelayP95Ms)} ms after the window's end",
                r.Achieved >= 0.95 * r.Rate && r.DelayP95Ms <= DelayTargetMs);
        return 0;
    }

    private static int WindowSteps(BenchModel model)
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model.Path);
        return int.Parse(session.ModelMetadata.CustomMetadataMap[EventMlOps.Models.ModelMetadata.Window], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Verdict(TextWriter w, string target, string measured, bool met) =>
        w.WriteLine($"  {(met ? "MET   " : "MISSED")}  {target,-78} {measured}");
}
