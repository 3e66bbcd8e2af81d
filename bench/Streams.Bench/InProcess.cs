using System.Diagnostics;
using System.Text.Json;
using EventMlOps.Bench;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Streams;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Bench;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Loading;
using EventMlOps.Serving.Observability;
using EventMlOps.Serving.Routing;
using EventMlOps.Serving.Scoring;
using EventMlOps.Serving.Streams;
using Microsoft.ML.OnnxRuntime;

namespace EventMlOps.Streams.Bench;

/// <summary>What one in-process measurement saw: readings through it, wall time and this process's CPU time.</summary>
public sealed record InProcessResult(string Name, long Readings, long Windows, TimeSpan Wall, CpuShare Cpu)
{
    /// <summary>This process's CPU time: its share of all cores over the wall time.</summary>
    public double CpuSeconds => Cpu.Bench / 100 * Environment.ProcessorCount * Wall.TotalSeconds;
    public double PerSecond => Readings / Wall.TotalSeconds;
    public double PerCore => Readings / CpuSeconds;
}

/// <summary>The scorer's work without the bus and the database: the same batches (one reading per machine and slot) through
/// the scorer's steps — a reading's checks, <see cref="MachineWindows"/>' placing and closing, the closed windows in one
/// <see cref="AnomalyModel"/> call (its batcher and ONNX Runtime session, as emo-serve loads it), episodes — and the same
/// plus the machines' state as JSON (what <see cref="StreamStore"/> reads and writes per batch). Baseline: ONNX Runtime
/// alone scoring the very windows those batches close, in the same calls.</summary>
public static class InProcess
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<IReadOnlyList<InProcessResult>> RunAsync(BenchModel bench, int machineCount, int total)
    {
        await using var services = new ServiceCollection().AddMetrics().AddLogging().AddSingleton(new ServingOptions())
            .AddSingleton<Router>().AddSingleton<ServingMetrics>().AddSingleton<BatchPolicy>().AddSingleton<OrtSessions>().BuildServiceProvider();
        var session = services.GetRequiredService<OrtSessions>().Create(await File.ReadAllBytesAsync(bench.Path));
        var model = AnomalyModel.Load(new ServedVersion(bench.Name, 1, new Uri(bench.Path).AbsoluteUri, bench.Sha256, 100), session,
            session.ModelMetadata.CustomMetadataMap, services.GetRequiredService<BatchPolicy>());
        var shape = new StreamShape(model.Steps, model.Stride, model.Features.Length, model.SamplingIntervalMs!.Value, 0);
        var machines = Enumerable.Range(1, machineCount).Select(m => $"machine-{m}").ToArray();
        var random = new Random(7);
        var batches = Enumerable.Range(0, total / machineCount).Select(s => SensorModel.Slot(machines, s, random)).ToArray();

        // The windows the batches close, cut once for the baseline.
        var cut = new List<(float[] Flat, int Count)>();
        await MeasureAsync("windowing", batches, windows => { cut.Add(windows); return Task.CompletedTask; }, json: false);
        var input = session.InputMetadata.Keys.Single();
        using var run = new RunOptions();
        void Raw((float[] Flat, int Count) w)
        {
            if (w.Count == 0) return;
            using var tensor = OrtValue.CreateTensorValueFromMemory(w.Flat, [w.Count, model.Width]);
            using var outputs = session.Run(run, [input], [tensor], ["error"]);
        }
        Raw(cut[^1]); // warm-up
        var baseline = await TimedAsync("baseline: ONNX Runtime alone, the same windows and calls", batches.Sum(b => (long)b.Length), cut.Sum(w => (long)w.Count),
            () => { foreach (var w in cut) Raw(w); return Task.CompletedTask; });

        var results = new List<InProcessResult> { baseline };
        results.Add(await MeasureAsync("windowing only (place, close, cut)", batches, _ => Task.CompletedTask, json: false));
        var open = new Dictionary<string, OpenEpisode?>();
        async Task Score((float[] Flat, int Count) w)
        {
            var scores = w.Count > 0 ? await model.ScoreAsync(w.Flat, w.Count) : [];
            // One window per machine and batch, in the machines' order.
            for (var i = 0; i < scores.Length; i++)
            {
                var scored = new ScoredWindow(machines[i % machines.Length], 1, default, default, scores[i], model.Threshold);
                (open[scored.Machine], _) = Episodes.Decide("bench", open.GetValueOrDefault(scored.Machine), scored, clearAfter: 3, raiseAfter: 3);
            }
        }
        results.Add(await MeasureAsync("windowing + scoring (the scorer's path, no database)", batches, Score, json: false));
        results.Add(await MeasureAsync("windowing + scoring + machines' state as JSON", batches, Score, json: true));
        return results;

        async Task<InProcessResult> MeasureAsync(string name, SensorReading[][] all, Func<(float[] Flat, int Count), Task> score, bool json)
        {
            var states = new Dictionary<string, MachineWindows>(StringComparer.Ordinal);
            var buffer = new float[shape.Features];
            long windows = 0;
            return await TimedAsync(name, all.Sum(b => (long)b.Length), null, async () =>
            {
                foreach (var batch in all)
                {
                    // As StreamScorer: check each reading, group by machine, place in event-time order, close, score in one call.
                    var byMachine = new Dictionary<string, List<SensorReading>>(StringComparer.Ordinal);
                    foreach (var r in batch)
                    {
                        if (!SensorReadings.IsMachine(r.Machine) || r.Values.Length != buffer.Length) continue;
                        for (var f = 0; f < buffer.Length; f++) buffer[f] = (float)r.Values[f];
                        if (model.Outlier(buffer) is not null) continue;
                        if (!byMachine.TryGetValue(r.Machine, out var list)) byMachine[r.Machine] = list = [];
                        list.Add(r);
                    }
                    var closed = new List<ClosedWindow>();
                    foreach (var (machine, list) in byMachine)
                    {
                        var state = states.TryGetValue(machine, out var known) ? json ? Load(known) : known : states[machine] = new MachineWindows();
                        foreach (var r in list.OrderBy(r => r.Time)) state.Add(r.Time.ToUnixTimeMilliseconds(), [.. r.Values.Select(v => (float)v)], shape);
                        closed.AddRange(state.Close(shape));
                        states[machine] = state;
                    }
                    var complete = closed.Where(c => c.Readings is not null).ToList();
                    var flat = new float[complete.Count * model.Width];
                    for (var i = 0; i < complete.Count; i++) complete[i].Readings!.CopyTo(flat, i * model.Width);
                    windows += complete.Count;
                    await score((flat, complete.Count));
                }
            }, () => windows);
        }

        // A machine's state written and read back, as one batch's transaction does.
        static MachineWindows Load(MachineWindows state) =>
            JsonSerializer.Deserialize<MachineWindows>(JsonSerializer.Serialize(state, Json), Json)!;
    }

    private static async Task<InProcessResult> TimedAsync(string name, long readings, long? windows, Func<Task> work, Func<long>? counted = null)
    {
        var monitor = CpuMonitor.Start();
        var clock = Stopwatch.StartNew();
        await work();
        var wall = clock.Elapsed;
        return new(name, readings, windows ?? counted?.Invoke() ?? 0, wall, await monitor.StopAsync());
    }
}
