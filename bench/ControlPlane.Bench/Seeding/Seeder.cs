using System.Diagnostics;
using Marten;
using Npgsql;

namespace EventMlOps.ControlPlane.Bench.Seeding;

public sealed record SeedResult(long EventsBefore, long EventsAppended, int Units, TimeSpan Elapsed)
{
    public bool Seeded => EventsAppended > 0;
}

/// <summary>Fills the store with generated lifecycles through the product's own <see cref="IDocumentStore"/>, with the
/// product's event types and stream keys, appended in bulk (Marten's <c>BulkInsertEventsAsync</c>, PostgreSQL COPY): events
/// only, as a history import appends them — the snapshots are then built by the projection rebuild, which the benchmark
/// measures. Resumable: it tops up to the target and never reuses a model (unit) index that is already in the store.</summary>
public static class Seeder
{
    private const int Workers = 2;

    /// <summary>Events per COPY: large enough to amortise a round trip, small enough to resume soon after an interruption.</summary>
    private const int BatchEvents = 25_000;

    public static async Task<SeedResult> SeedAsync(IDocumentStore store, string connectionString, long target, TextWriter output, CancellationToken ct)
    {
        var schema = store.Options.Events.DatabaseSchemaName;
        // A new store gets its tables now; an existing one is left for the host's own start-up to migrate.
        if (await Sql.ScalarAsync<bool>(connectionString, $"select to_regclass('{schema}.mt_events') is null", ct))
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var before = await Sql.ScalarAsync<long>(connectionString, $"select count(*) from {schema}.mt_events", ct);
        if (before >= target)
        {
            output.WriteLine($"  store already holds {before:N0} events (≥ {target:N0}): seeding skipped");
            return new(before, 0, 0, TimeSpan.Zero);
        }
        // Units are appended by parallel workers, so committed indexes may have gaps: continue after the highest.
        var lastUnit = await Sql.ScalarAsync<int>(connectionString,
            $"select coalesce(max(substring(id from '-([0-9]+)@1$')::int), -1) from {schema}.mt_streams where id like 'model:%@1'", ct);
        output.WriteLine($"  store holds {before:N0} events; seeding up to {target:N0} with {Workers} writers, from model #{lastUnit + 1}");

        var now = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        long appended = 0;
        var units = 0;
        var next = lastUnit;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var progress = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), done.Token);
                    var n = Interlocked.Read(ref appended);
                    var rate = n / clock.Elapsed.TotalSeconds;
                    var eta = rate > 0 ? TimeSpan.FromSeconds((target - before - n) / rate) : TimeSpan.Zero;
                    output.WriteLine($"  seeded {before + n,12:N0} / {target:N0} events  {rate,8:N0} events/s  ETA {eta:mm\\:ss}");
                }
            }
            catch (OperationCanceledException) { }
        }, CancellationToken.None);

        var writers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested && before + Interlocked.Read(ref appended) < target)
            {
                var batch = new List<SeedUnit>();
                while (batch.Sum(u => u.EventCount) < BatchEvents && before + Interlocked.Read(ref appended) + batch.Sum(u => u.EventCount) < target)
                    batch.Add(LifecycleGenerator.Generate(Interlocked.Increment(ref next), now));
                await AppendAsync(store, batch, ct);
                Interlocked.Add(ref appended, batch.Sum(u => u.EventCount));
                Interlocked.Add(ref units, batch.Count);
            }
        }, ct)).ToArray();
        try { await Task.WhenAll(writers); }
        finally { await done.CancelAsync(); await progress; }

        var result = new SeedResult(before, appended, units, clock.Elapsed);
        output.WriteLine($"  seeded {appended:N0} events ({units:N0} model lifecycles) in {clock.Elapsed.TotalSeconds:N1} s: " +
                         $"{appended / clock.Elapsed.TotalSeconds:N0} events/s");
        return result;
    }

    /// <summary>Whole model histories in one COPY: every stream started with its events, each event stamped with the time,
    /// actor, correlation and causation it would have had in production. The session only shapes the events (it is never
    /// saved): no inline snapshot is written.</summary>
    private static async Task AppendAsync(IDocumentStore store, IReadOnlyList<SeedUnit> units, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        foreach (var stream in units.SelectMany(u => u.Streams))
        {
            var action = session.Events.StartStream(stream.Aggregate, stream.Key, [.. stream.Events.Select(e => e.Data)]);
            for (var i = 0; i < stream.Events.Count; i++)
            {
                var (e, seed) = (action.Events[i], stream.Events[i]);
                e.Timestamp = seed.At;
                e.UserName = seed.Actor;
                e.CorrelationId = seed.CorrelationId;
                e.CausationId = seed.CausationId;
            }
        }
        await store.BulkInsertEventsAsync([.. session.PendingChanges.Streams()], BatchEvents, ct);
    }

    /// <summary>The seeded history's work orders went out when it happened: the "work-orders" subscription
    /// starts after it instead of queueing a LaunchTraining for every historical run.</summary>
    public static async Task MarkSubscriptionCaughtUpAsync(string connectionString, string schema, string shard, CancellationToken ct)
    {
        await Sql.ExecuteAsync(connectionString, $"""
            insert into {schema}.mt_event_progression (name, last_seq_id, last_updated)
            select @shard, coalesce(max(seq_id), 0), now() from {schema}.mt_events
            on conflict (name) do update set last_seq_id = greatest({schema}.mt_event_progression.last_seq_id, excluded.last_seq_id), last_updated = now()
            """, ct, ("shard", shard));
    }
}

/// <summary>Plain SQL for the bench's own bookkeeping (never for the product's reads and writes).</summary>
public static class Sql
{
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct);
        await using var cmd = Command(conn, sql, parameters);
        return (T)Convert.ChangeType((await cmd.ExecuteScalarAsync(ct))!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(string connectionString, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct);
        await using var cmd = Command(conn, sql, parameters);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<List<object[]>> RowsAsync(string connectionString, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct);
        await using var cmd = Command(conn, sql, parameters);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<object[]>();
        while (await reader.ReadAsync(ct))
        {
            var row = new object[reader.FieldCount];
            reader.GetValues(row);
            rows.Add(row);
        }
        return rows;
    }

    private static NpgsqlCommand Command(NpgsqlConnection conn, string sql, (string Name, object Value)[] parameters)
    {
        var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 600 };
        foreach (var (name, value) in parameters)
            cmd.Parameters.AddWithValue(name, value);
        return cmd;
    }
}
