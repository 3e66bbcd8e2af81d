using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace EventMlOps.Bench;

/// <summary>What one measurement saw: successes, failures (with samples of their messages), and the
/// latency distribution of the successes in microseconds.</summary>
public sealed record Measurement(string Subject, string Path, int Clients, long Ok, long Errors, TimeSpan Elapsed, LongHistogram Latency,
    IReadOnlyList<string> ErrorSamples, CpuShare Cpu)
{
    public double PerSecond => Ok / Elapsed.TotalSeconds;
    public double P50Ms => Ms(50);
    public double P99Ms => Ms(99);
    public double MaxMs => Latency.TotalCount == 0 ? double.NaN : Latency.GetMaxValue() / 1000.0;
    public double MeanMs => Latency.TotalCount == 0 ? double.NaN : Latency.GetMean() / 1000.0;

    private double Ms(double percentile) => Latency.TotalCount == 0 ? double.NaN : Latency.GetValueAtPercentile(percentile) / 1000.0;
}

/// <summary>Closed-loop load: <c>clients</c> concurrent loops each issue the operation back to back for the
/// duration (after an unrecorded warm-up with the same concurrency). An operation that throws is an error.</summary>
public static class Load
{
    public static async Task<Measurement> RunAsync(string subject, string path, int clients, TimeSpan duration,
        Func<int, CancellationToken, Task> operation, CancellationToken ct)
    {
        var warmUp = TimeSpan.FromSeconds(Math.Min(2, duration.TotalSeconds / 3));
        await RunLoopsAsync(clients, warmUp, operation, ct);
        var monitor = CpuMonitor.Start();
        var result = await RunLoopsAsync(clients, duration, operation, ct);
        var cpu = await monitor.StopAsync();
        return new(subject, path, clients, result.Ok, result.Errors, result.Elapsed, result.Latency, result.Samples, cpu);
    }

    private static async Task<(long Ok, long Errors, TimeSpan Elapsed, LongHistogram Latency, IReadOnlyList<string> Samples)> RunLoopsAsync(
        int clients, TimeSpan duration, Func<int, CancellationToken, Task> operation, CancellationToken ct)
    {
        var histograms = Enumerable.Range(0, clients).Select(_ => NewHistogram()).ToArray();
        long ok = 0, errors = 0;
        var samples = new ConcurrentDictionary<string, int>();
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var loops = Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end && !ct.IsCancellationRequested)
            {
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await operation(client, ct);
                    var us = (Stopwatch.GetTimestamp() - t0) * 1_000_000 / Stopwatch.Frequency;
                    histograms[client].RecordValue(Math.Clamp(us, 1, histograms[client].HighestTrackableValue));
                    Interlocked.Increment(ref ok);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref errors);
                    var key = Shorten(e);
                    if (samples.Count < 20 || samples.ContainsKey(key)) samples.AddOrUpdate(key, 1, (_, n) => n + 1);
                }
            }
        }, CancellationToken.None)).ToArray();
        await Task.WhenAll(loops);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var latency = NewHistogram();
        foreach (var h in histograms) latency.Add(h);
        return (ok, errors, elapsed, latency,
            [.. samples.OrderByDescending(s => s.Value).Take(5).Select(s => $"{s.Value}× {s.Key}")]);
    }

    private static LongHistogram NewHistogram() => new(1, 60_000_000, 3); // 1 µs .. 60 s, 3 significant digits

    private static string Shorten(Exception e)
    {
        var text = $"{e.GetType().Name}: {e.Message}".ReplaceLineEndings(" ");
        return text.Length > 300 ? text[..300] + "…" : text;
    }
}
