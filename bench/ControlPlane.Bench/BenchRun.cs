using System.Diagnostics;
using EventMlOps.Bench;
using EventMlOps.ControlPlane.Bench.Measuring;
using EventMlOps.ControlPlane.Bench.Seeding;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.Local;

namespace EventMlOps.ControlPlane.Bench;

/// <summary>The benchmark, in order: PostgreSQL → seed (events in bulk through the product's store, before the host
/// starts) → rebuild every projection and snapshot from them → start the real host → commands/s → lineage latency →
/// summary against the issue's targets.</summary>
public static class BenchRun
{
    private const string WorkOrdersShard = "work-orders:All";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        // The report goes to stdout; the control plane's own JSON logs (it writes them to the console) go to a file.
        var output = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
        var repo = RepoRoot();
        var emoHome = Path.Combine(repo, ".emo", "bench");
        Directory.CreateDirectory(emoHome);
        var appLog = Path.Combine(emoHome, "app.log");
        await using var log = new StreamWriter(appLog, append: false) { AutoFlush = true };
        Console.SetOut(TextWriter.Synchronized(log));
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); output.WriteLine("  cancelling…"); };
        var ct = cts.Token;

        output.WriteLine("EventMlOps control-plane benchmark");
        output.WriteLine($"  machine   {Text.Machine()}");
        output.WriteLine($"  options   events ≥ {options.Events:N0}, {options.Seconds:N0} s per measurement, clients {string.Join(",", options.Clients)}" +
                         (options.Quick ? " (--quick)" : ""));
        output.WriteLine($"  app log   {appLog}");
        output.WriteLine("  (client, control plane and PostgreSQL share this machine's cores)");

        output.WriteLine();
        output.WriteLine("PostgreSQL");
        var db = await BenchDatabase.OpenAsync(repo, options.Reset, ct);
        BenchHost? host = null;
        try
        {
            output.WriteLine($"  {db.Description}");
            var postmaster = db.Local is { } cluster ? Postmaster(cluster.DataRoot) : null;
            CpuMonitor.IsServer = p => p.Name == "postgres" && (postmaster is not { } pm || p.Pid == pm || p.Parent == pm);
            var settings = await db.SettingsAsync(ct);
            output.WriteLine("  " + string.Join(", ", settings.Select(s => $"{s.Name}={s.Value}")));
            var npgsql = new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString);
            output.WriteLine($"  Npgsql (as the control plane connects): Maximum Pool Size={npgsql.MaxPoolSize}, Max Auto Prepare={npgsql.MaxAutoPrepare}, " +
                             $"No Reset On Close={npgsql.NoResetOnClose}");
            if (settings.Any(s => s.Name == "fsync" && s.Value == "off"))
                output.WriteLine("  NOTE: fsync is off (the dev/test launcher: fsync, synchronous_commit and full_page_writes off), so commits\n" +
                                 "        cost no disk flush: the numbers below are an upper bound for a durable cluster.");

            output.WriteLine();
            output.WriteLine("Seeding (through the product's IDocumentStore, before the host starts)");
            host = await BenchHost.BuildAsync(db, emoHome);
            var seed = await Seeder.SeedAsync(host.Store, db.ConnectionString, options.Events, output, ct);
            if (seed.Seeded)
            {
                await Seeder.MarkSubscriptionCaughtUpAsync(db.ConnectionString, BenchDatabase.Schema, WorkOrdersShard, ct);
                output.WriteLine($"  '{WorkOrdersShard}' subscription marked as caught up: the seeded history's work orders count as sent long ago");
            }
            var analyze = Stopwatch.StartNew();
            await Sql.ExecuteAsync(db.ConnectionString, "analyze", ct);
            output.WriteLine($"  ANALYZE (planner statistics as autovacuum keeps them in a long-running store) in {analyze.Elapsed.TotalSeconds:N1} s");

            output.WriteLine();
            output.WriteLine("Projection rebuild (every projection and snapshot from the events, through Marten's projection daemon)");
            var rebuilds = await RebuildThroughput.RunAsync(host.Store, db.ConnectionString, output, ct);
            if (options.RebuildOnly)
            {
                var stored = await Sql.ScalarAsync<long>(db.ConnectionString, $"select count(*) from {BenchDatabase.Schema}.mt_events", ct);
                ReportRebuilds(output, stored, rebuilds);
                return 0;
            }

            output.WriteLine();
            output.WriteLine("Control plane");
            var clock = Stopwatch.StartNew();
            await host.StartAsync();
            output.WriteLine($"  started in {clock.Elapsed.TotalSeconds:N1} s at {host.BaseAddress} (Kestrel, Wolverine, Marten, async daemon)");
            await SettleAsync(db.ConnectionString, output, ct);
            var events = await StoreStatisticsAsync(db.ConnectionString, output, ct);

            output.WriteLine();
            output.WriteLine($"Commands/s ({options.Seconds:N0} s each, after a warm-up)");
            var commands = await CommandThroughput.RunAsync(host, db.ConnectionString, options, output, ct);

            output.WriteLine();
            output.WriteLine($"Query latency ({options.Seconds:N0} s each, 1 client, after a warm-up)");
            var queries = await QueryLatency.RunAsync(host, db.ConnectionString, options, output, ct);

            output.WriteLine();
            output.WriteLine($"=== Results at {events:N0} events ===");
            output.WriteLine();
            output.WriteLine("Commands/s — baseline: the same decision and events through Marten alone (FetchForWriting, append,");
            output.WriteLine("inline snapshot, SaveChanges); Wolverine in-process adds the command gate (JWT, role, idempotency record)");
            output.WriteLine("and the handler pipeline; HTTP adds Kestrel, routing, JSON and the client.");
            Report.Commands(output, commands);
            output.WriteLine();
            output.WriteLine("Query latency — floor: GET /health/live over the same HTTP connection pool.");
            Report.Queries(output, queries);
            ReportRebuilds(output, events, rebuilds);
            output.WriteLine();
            output.WriteLine("Targets");
            Report.Targets(output, events, commands, queries);
            return commands.Concat(queries).Any(m => m.Errors > 0) ? 1 : 0;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            output.WriteLine("cancelled; a rerun resumes seeding where it stopped");
            return 130;
        }
        catch (Exception e)
        {
            output.WriteLine($"FAILED: {e}");
            output.WriteLine($"(the control plane's log is in {appLog})");
            return 1;
        }
        finally
        {
            if (host is not null) await host.DisposeAsync();
            if (db.Local is { } local && !options.KeepPostgres)
            {
                await LocalPostgres.StopAsync(local.DataRoot);
                output.WriteLine($"  (private PostgreSQL stopped; its data stays in {local.DataRoot} for the next run)");
            }
        }
    }

    private static void ReportRebuilds(TextWriter output, long events, IReadOnlyList<RebuildMeasurement> rebuilds)
    {
        output.WriteLine();
        output.WriteLine($"Projection rebuild at {events:N0} events — baseline: the same events read once, in order, with no deserialization.");
        Report.Rebuilds(output, rebuilds);
        Report.RebuildTargets(output, events, rebuilds);
    }

    /// <summary>Waits until the work-orders subscription has caught up with the store, so that the
    /// measurements do not compete with a daemon replaying history.</summary>
    private static async Task SettleAsync(string cs, TextWriter output, CancellationToken ct)
    {
        var schema = BenchDatabase.Schema;
        var head = await Sql.ScalarAsync<long>(cs, $"select coalesce(max(seq_id), 0) from {schema}.mt_events", ct);
        var clock = Stopwatch.StartNew();
        List<object[]> rows = [];
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            rows = await Sql.RowsAsync(cs, $"select name, last_seq_id from {schema}.mt_event_progression order by name", ct);
            if (rows.Any(r => ((string)r[0]).StartsWith("work-orders", StringComparison.Ordinal) && (long)r[1] >= head)) break;
            await Task.Delay(250, ct);
        }
        output.WriteLine($"  event progression after {clock.Elapsed.TotalSeconds:N1} s (head seq {head:N0}): " +
                         string.Join(", ", rows.Select(r => $"{r[0]}={(long)r[1]:N0}")));
        try
        {
            var queued = await Sql.ScalarAsync<long>(cs, $"select count(*) from {schema}_queues.wolverine_queue_emo_agents", ct);
            output.WriteLine($"  work orders waiting in the agents' queue: {queued:N0} (no agent runs during the benchmark)");
        }
        catch (Npgsql.PostgresException e)
        {
            output.WriteLine($"  agents' queue not readable: {e.MessageText}");
        }
    }

    private static async Task<long> StoreStatisticsAsync(string cs, TextWriter output, CancellationToken ct)
    {
        var schema = BenchDatabase.Schema;
        var events = await Sql.ScalarAsync<long>(cs, $"select count(*) from {schema}.mt_events", ct);
        var span = (await Sql.RowsAsync(cs, $"select min(timestamp), max(timestamp) from {schema}.mt_events", ct))[0];
        var size = await Sql.ScalarAsync<string>(cs, "select pg_size_pretty(pg_database_size(current_database()))", ct);
        output.WriteLine($"  store: {events:N0} events from {span[0]:yyyy-MM-dd} to {span[1]:yyyy-MM-dd}, database {size}");
        var streams = await Sql.RowsAsync(cs, $"""
            select split_part(id, ':', 1), count(*), round(avg(version), 1), max(version)
            from {schema}.mt_streams group by 1 order by 2 desc
            """, ct);
        Text.Table(output, ["streams", "count", "avg events", "max events"],
            streams.Select(r => new[] { (string)r[0], $"{(long)r[1]:N0}", $"{(decimal)r[2]:N1}", $"{(long)r[3]:N0}" }));
        var types = await Sql.RowsAsync(cs, $"select type, count(*) from {schema}.mt_events group by 1 order by 2 desc", ct);
        Text.Table(output, ["event type", "count", "share"],
            types.Select(r => new[] { (string)r[0], $"{(long)r[1]:N0}", $"{100.0 * (long)r[1] / events:N1}%" }));
        return events;
    }

    /// <summary>The pid of the private cluster's postmaster (first line of postmaster.pid), whose children are its backends.</summary>
    private static int? Postmaster(string dataRoot)
    {
        try { return int.Parse(File.ReadLines(Path.Combine(dataRoot, "data", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return null; }
    }

    private static string RepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "EventMlOps.sln")))
                    return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
