using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace EventMlOps.Bench;

/// <summary>What one measurement saw: successes, failures (with samples of their messages), and the latency
/// distribution of the successes in microseconds. Closed loop: <see cref="Clients"/> concurrent loops; open loop:
/// the offered <see cref="Rate"/> (requests/s) and <see cref="Clients"/> 0.</summary>
public sealed record Measurement(string Subject, string Path, int Clients, long Ok, long Errors, TimeSpan Elapsed, LongHistogram Latency,
    IReadOnlyList<string> ErrorSamples, CpuShare Cpu, double? Rate = null)
{
    public double PerSecond => Ok / Elapsed.TotalSeconds;

    /// <summary>Transactions the database committed per second meanwhile, where the benchmark counts them.</summary>
    public double? CommitsPerSecond { get; init; }
    public double P50Ms => Ms(50);
    public double P95Ms => Ms(95);
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

    /// <summary>Open-loop load: requests start at a fixed rate whatever the server does (a slow answer never delays the
    /// next request), and each latency is measured from the request's <em>intended</em> start, so queueing in the
    /// server or the client is counted instead of hidden (no coordinated omission). After an unrecorded warm-up at
    /// the same rate; outstanding requests are awaited at the end.</summary>
    public static async Task<Measurement> OpenLoopAsync(string subject, string path, double rate, TimeSpan duration,
        Func<CancellationToken, Task> operation, CancellationToken ct)
    {
        await SendAtRateAsync(rate, TimeSpan.FromSeconds(Math.Min(2, duration.TotalSeconds / 3)), operation, ct);
        var monitor = CpuMonitor.Start();
        var result = await SendAtRateAsync(rate, duration, operation, ct);
        var cpu = await monitor.StopAsync();
        return new(subject, path, 0, result.Ok, result.Errors, result.Elapsed, result.Latency, result.Samples, cpu, rate);
    }

    private static async Task<(long Ok, long Errors, TimeSpan Elapsed, LongHistogram Latency, IReadOnlyList<string> Samples)> SendAtRateAsync(
        double rate, TimeSpan duration, Func<CancellationToken, Task> operation, CancellationToken ct)
    {
        var latency = NewHistogram();
        long ok = 0, errors = 0;
        var samples = new ConcurrentDictionary<string, int>();
        var total = (long)(rate * duration.TotalSeconds);
        var pending = new List<Task>((int)Math.Min(total, 1 << 20));
        var start = Stopwatch.GetTimestamp();
        async Task SendAsync(long intended)
        {
            try
            {
                await operation(ct);
                var us = (Stopwatch.GetTimestamp() - intended) * 1_000_000 / Stopwatch.Frequency;
                lock (latency) latency.RecordValue(Math.Clamp(us, 1, latency.HighestTrackableValue));
                Interlocked.Increment(ref ok);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                Interlocked.Increment(ref errors);
                var key = Shorten(e);
                if (samples.Count < 20 || samples.ContainsKey(key)) samples.AddOrUpdate(key, 1, (_, n) => n + 1);
            }
        }
        // A dedicated thread starts every request that is due, then sleeps a millisecond. Not Task.Delay: on Linux its
        // timer fires every ~4 ms here, which would send requests in bursts and add up to 4 ms to every latency.
        await Task.Factory.StartNew(() =>
        {
            for (long sent = 0; sent < total && !ct.IsCancellationRequested;)
            {
                var due = Math.Min(total, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate) + 1);
                for (; sent < due; sent++)
                    pending.Add(SendAsync(start + (long)(sent / rate * Stopwatch.Frequency)));
                Thread.Sleep(1);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var elapsed = Stopwatch.GetElapsedTime(start);
        await Task.WhenAll(pending);
        return (ok, errors, elapsed, latency, [.. samples.OrderByDescending(s => s.Value).Take(5).Select(s => $"{s.Value}× {s.Key}")]);
    }

    private static LongHistogram NewHistogram() => new(1, 60_000_000, 3); // 1 µs .. 60 s, 3 significant digits

    private static string Shorten(Exception e)
    {
        var text = $"{e.GetType().Name}: {e.Message}".ReplaceLineEndings(" ");
        return text.Length > 300 ? text[..300] + "…" : text;
    }
}
