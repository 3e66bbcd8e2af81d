using System.Globalization;
using EventMlOps.Bench;
using EventMlOps.ControlPlane.Bench.Measuring;
using static EventMlOps.Bench.Text;

namespace EventMlOps.ControlPlane.Bench;

/// <summary>The printed results: one table for commands/s, one for query latency, then the issue's targets.</summary>
public static class Report
{
    public const double CommandTarget = 2_000;
    public const double CommandP99TargetMs = 50;
    public const double LineageP99TargetMs = 20;
    public const long TargetEvents = 1_000_000;
    public const double RebuildTarget = 50_000;

    public static void Commands(TextWriter w, IReadOnlyList<Measurement> results)
    {
        var rows = results.Select(m =>
        {
            var baseline = results.FirstOrDefault(b => b.Subject == m.Subject && b.Clients == m.Clients && b.Path == CommandThroughput.Baseline);
            return new[]
            {
                m.Subject, m.Path, m.Clients.ToString(CultureInfo.InvariantCulture), N(m.PerSecond, 0), N(m.P50Ms), N(m.P99Ms), N(m.MaxMs),
                m.Errors.ToString(CultureInfo.InvariantCulture), N(m.CommitsPerSecond ?? double.NaN, 0), N(m.PerSecond / (m.CommitsPerSecond ?? double.NaN)),
                m.Cpu.ToString(), baseline is null ? "" : N(m.PerSecond / baseline.PerSecond) + "×",
            };
        });
        // Commits are the database's write transactions, every client's (the control plane's own background work included).
        Text.Table(w, ["command", "path", "clients", "cmd/s", "p50 ms", "p99 ms", "max ms", "errors", "commits/s", "cmd per commit", "cpu % bench/pg/other",
            "cmd/s vs baseline"], rows);
        Errors(w, results);
    }

    public static void Queries(TextWriter w, IReadOnlyList<Measurement> results)
    {
        var floor = results.First(m => m.Subject == QueryLatency.Floor);
        var rows = results.Select(m => new[]
        {
            m.Subject, m.Latency.TotalCount.ToString("N0", CultureInfo.InvariantCulture), N(m.P50Ms), N(m.P99Ms), N(m.MaxMs), N(m.MeanMs),
            N(m.P50Ms / floor.P50Ms, 1) + "×", N(m.P99Ms / floor.P99Ms, 1) + "×", m.Errors.ToString(CultureInfo.InvariantCulture), m.Cpu.ToString(),
        });
        Text.Table(w, ["query (1 client)", "n", "p50 ms", "p99 ms", "max ms", "mean ms", "p50 vs floor", "p99 vs floor", "errors", "cpu % bench/pg/other"], rows);
        Errors(w, results);
    }

    public static void Rebuilds(TextWriter w, IReadOnlyList<RebuildMeasurement> results)
    {
        var baseline = results.First(m => m.Subject == RebuildThroughput.Baseline);
        Text.Table(w, ["path", "events", "seconds", "events/s", "cpu % bench/pg/other", "events/s vs baseline"], results.Select(m => new[]
        {
            m.Subject, m.Events.ToString("N0", CultureInfo.InvariantCulture), N(m.Elapsed.TotalSeconds, 1), N(m.PerSecond, 0), m.Cpu.ToString(),
            N(m.PerSecond / baseline.PerSecond) + "×",
        }));
    }

    public static void RebuildTargets(TextWriter w, long events, IReadOnlyList<RebuildMeasurement> results)
    {
        var full = results.Single(m => m.Subject != RebuildThroughput.Baseline);
        Verdict(w, $"≥ {RebuildTarget:N0} events/s for a full rebuild at ≥ 1M events", $"{full.PerSecond:N0} events/s",
            full.PerSecond >= RebuildTarget, full.PerSecond / RebuildTarget);
        if (events < TargetEvents)
            w.WriteLine($"  note: the store holds {events:N0} events, fewer than the 1,000,000 the target is stated for: this run is a smoke test, not a verdict.");
    }

    public static void Targets(TextWriter w, long events, IReadOnlyList<Measurement> commands, IReadOnlyList<Measurement> queries)
    {
        var clients = commands.Max(m => m.Clients);
        foreach (var m in commands.Where(m => m.Clients == clients && m.Path.StartsWith("HTTP", StringComparison.Ordinal)))
            Verdict(w, $"≥ {CommandTarget:N0} commands/s with 16 clients — {m.Subject} over HTTP, {clients} clients", $"{m.PerSecond:N0} cmd/s",
                m.PerSecond >= CommandTarget, m.PerSecond / CommandTarget);
        foreach (var m in commands.Where(m => m.Clients == clients && m.Path.StartsWith("HTTP", StringComparison.Ordinal)))
            Verdict(w, $"p99 < {CommandP99TargetMs:N0} ms with 16 clients — {m.Subject} over HTTP, {clients} clients", $"p99 {m.P99Ms:N1} ms",
                m.P99Ms < CommandP99TargetMs, CommandP99TargetMs / m.P99Ms);
        // One client over HTTP (group commit) beside Wolverine in-process: the path HTTP commands took before group commit,
        // less its HTTP cost — so HTTP at par or better means no slower than before.
        foreach (var one in commands.Where(m => m.Clients == 1 && m.Path.StartsWith("HTTP", StringComparison.Ordinal)))
            if (commands.FirstOrDefault(m => m.Clients == 1 && m.Subject == one.Subject && m.Path == CommandThroughput.InProcess) is { } before)
                w.WriteLine($"  (compare)    1 client, {one.Subject}: HTTP {one.PerSecond:N0} cmd/s (p99 {one.P99Ms:N1} ms) vs {CommandThroughput.InProcess} " +
                            $"{before.PerSecond:N0} cmd/s (p99 {before.P99Ms:N1} ms): {one.PerSecond / before.PerSecond:N2}×");
        foreach (var m in queries.Where(m => m.Subject.EndsWith(", now", StringComparison.Ordinal)))
            Verdict(w, $"lineage p99 < {LineageP99TargetMs:N0} ms at 1M events — {m.Subject}", $"p99 {m.P99Ms:N2} ms",
                m.P99Ms < LineageP99TargetMs, LineageP99TargetMs / m.P99Ms);
        foreach (var m in queries.Where(m => m.Subject.Contains("asOf", StringComparison.Ordinal)))
            w.WriteLine($"  (no target)  {m.Subject,-42} p50 {m.P50Ms,7:N2} ms   p99 {m.P99Ms,7:N2} ms");
        if (clients != 16)
            w.WriteLine($"  note: the command target is stated for 16 clients; this run's largest client count was {clients}.");
        if (events < TargetEvents)
            w.WriteLine($"  note: the store holds {events:N0} events, fewer than the 1,000,000 the targets are stated for: this run is a smoke test, not a verdict.");
    }

    private static void Verdict(TextWriter w, string target, string measured, bool met, double ratio) =>
        w.WriteLine($"  {(met ? "MET   " : "MISSED")}  {target,-78} {measured,-18} ({ratio:N2}× of target)");

    private static void Errors(TextWriter w, IReadOnlyList<Measurement> results)
    {
        foreach (var m in results.Where(m => m.Errors > 0))
        {
            w.WriteLine($"  errors in {m.Subject} / {m.Path} / {m.Clients} clients:");
            foreach (var sample in m.ErrorSamples) w.WriteLine($"    {sample}");
        }
    }

}
