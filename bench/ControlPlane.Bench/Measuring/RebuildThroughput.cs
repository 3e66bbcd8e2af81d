using System.Collections.Concurrent;
using System.Diagnostics;
using EventMlOps.Bench;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Bench.Seeding;
using EventMlOps.ControlPlane.History;
using Marten;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace EventMlOps.ControlPlane.Bench.Measuring;

/// <summary>One rebuild measurement: the events of the store, the seconds, and what the CPU did meanwhile.</summary>
public sealed record RebuildMeasurement(string Subject, long Events, TimeSpan Elapsed, CpuShare Cpu)
{
    public double PerSecond => Events / Elapsed.TotalSeconds;
}

/// <summary>
/// A full rebuild of every projection and snapshot (<see cref="ProjectionRebuild.RebuildAllAsync"/>: Marten's daemon into a
/// scratch schema, then each table put in place) against the baseline of reading the same events once, in order, from
/// PostgreSQL with no deserialization or projection at all — the floor of any replay over this store.
/// </summary>
public static class RebuildThroughput
{
    public const string Baseline = "baseline: sequential read of every event (Npgsql, no deserialization)";

    public static async Task<IReadOnlyList<RebuildMeasurement>> RunAsync(IDocumentStore store, string connectionString, TextWriter output, CancellationToken ct)
    {
        var schema = store.Options.Events.DatabaseSchemaName;
        var events = await Sql.ScalarAsync<long>(connectionString, $"select count(*) from {schema}.mt_events", ct);
        var results = new List<RebuildMeasurement>();

        var cpu = CpuMonitor.Start();
        var clock = Stopwatch.StartNew();
        var (read, chars) = await ReadAllAsync(connectionString, schema, ct);
        results.Add(new(Baseline, read, clock.Elapsed, await cpu.StopAsync()));
        output.WriteLine($"  {Baseline}: {read:N0} events ({chars / 1e6:N0} M characters of JSON) in {clock.Elapsed.TotalSeconds:N1} s");

        var rebuild = new ProjectionRebuild(store, connectionString, NullLogger<ProjectionRebuild>.Instance);
        var done = new ConcurrentDictionary<string, (ProjectionProgress Progress, TimeSpan At)>();
        var progress = new Printer(output, done);
        cpu = CpuMonitor.Start();
        clock = Stopwatch.StartNew();
        progress.Clock = clock;
        var replaced = await rebuild.RebuildAllAsync(progress, ct);
        results.Add(new($"full rebuild: {rebuild.Projections.Count} projections, daemon + put in place", events, clock.Elapsed, await cpu.StopAsync()));
        output.WriteLine($"  full rebuild: {events:N0} events in {clock.Elapsed.TotalSeconds:N1} s; documents " +
                         string.Join(", ", replaced.Select(r => $"{r.Document} {r.Rebuilt:N0} (+{r.Inserted:N0} ~{r.Updated:N0} -{r.Deleted:N0})")));
        var rebuilt = done.Values.Select(d => d.At).DefaultIfEmpty(clock.Elapsed).Max();
        output.WriteLine($"  of which the daemon's rebuilds {rebuilt.TotalSeconds:N1} s, putting the tables in place {(clock.Elapsed - rebuilt).TotalSeconds:N1} s");
        return results;
    }

    /// <summary>Every event's columns as the daemon loads them, read once in global order and dropped.</summary>
    private static async Task<(long Events, long Chars)> ReadAllAsync(string connectionString, string schema, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand(
            $"select seq_id, id, stream_id, version, type, data, timestamp, tenant_id, mt_dotnet_type, correlation_id, causation_id, user_name " +
            $"from {schema}.mt_events order by seq_id", conn) { CommandTimeout = 0 };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        long n = 0, chars = 0;
        while (await reader.ReadAsync(ct))
        {
            chars += reader.GetString(5).Length;
            n++;
        }
        return (n, chars);
    }

    /// <summary>Prints each projection's progress about every five seconds, and when it is done.</summary>
    private sealed class Printer(TextWriter output, ConcurrentDictionary<string, (ProjectionProgress, TimeSpan)> done) : IProgress<ProjectionProgress>
    {
        private TimeSpan _printed = TimeSpan.Zero;

        public Stopwatch Clock { get; set; } = Stopwatch.StartNew();

        public void Report(ProjectionProgress p)
        {
            if (p.Done)
            {
                done[p.Projection] = (p, Clock.Elapsed);
                output.WriteLine($"    {p.Projection,-24} done at {p.Position:N0} / {p.Ceiling:N0}  ({p.EventsPerSecond:N0} events/s)");
            }
            else if (Clock.Elapsed - _printed >= TimeSpan.FromSeconds(5))
            {
                _printed = Clock.Elapsed;
                output.WriteLine($"    {p.Projection,-24} {p.Position,12:N0} / {p.Ceiling:N0}  ({p.EventsPerSecond:N0} events/s)");
            }
        }
    }
}
