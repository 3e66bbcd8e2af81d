using System.Diagnostics;
using System.Security.Cryptography;
using EventMlOps.Contracts.Views;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;

namespace EventMlOps.ControlPlane.History;

/// <summary>A projection as the live store registers it: its daemon name, a document type it writes (one target per type) and
/// its lifecycle.</summary>
public sealed record ProjectionTarget(string Name, Type Document, string Lifecycle);

/// <summary>
/// Projections rebuilt beside the live ones: a second Marten store shaped by the host's own
/// <see cref="ControlPlaneApp.ConfigureStore"/> whose events are the live store's tables and whose documents live in a scratch
/// schema of its own, rebuilt by that store's projection daemon (<c>RebuildProjectionAsync</c>) — the live documents are never
/// torn down, so queries and commands go on reading them. Its projections carry names of their own, so the progression rows
/// the daemon keeps beside the live events never meet a live shard's. Disposing drops the schema and those rows.
/// </summary>
/// <remarks>
/// The live documents go on changing while the rebuild runs. Which of them the rebuild may speak for is decided without
/// trusting clocks: before it starts, each live row's id and <c>xmin</c> (the transaction that last wrote it) are copied into
/// the scratch schema together with the store's head sequence, in one snapshot. A row written since (another <c>xmin</c>, or
/// gone, or new) was written by a command meanwhile — it is <i>touched</i>, and only the live row speaks for it. Every other
/// row reflects events committed before the snapshot, all at or below the head; the rebuild reaching the head
/// (<see cref="RebuildAsync"/> checks it) therefore holds exactly the same events for it.
/// </remarks>
internal sealed class ScratchStore : IAsyncDisposable
{
    /// <summary>How long the daemon may take over one projection before it gives up.</summary>
    private static readonly TimeSpan ShardTimeout = TimeSpan.FromHours(2);

    private readonly DocumentStore _store;
    private readonly NpgsqlDataSource _db;
    private readonly string _suffix;
    private long _head;

    private ScratchStore(DocumentStore store, NpgsqlDataSource db, string liveSchema, string schema, string suffix, IReadOnlyList<ProjectionTarget> projections)
    {
        (_store, _db, LiveSchema, Schema, _suffix, Projections) = (store, db, liveSchema, schema, suffix, projections);
    }

    public string LiveSchema { get; }
    public string Schema { get; }
    public IReadOnlyList<ProjectionTarget> Projections { get; }

    /// <summary>Creates the scratch schema and notes which live rows exist, as of which head sequence (see the remarks). The
    /// live document tables must exist.</summary>
    public static async Task<ScratchStore> CreateAsync(string connectionString, string liveSchema, IReadOnlyList<ProjectionTarget> projections, CancellationToken ct)
    {
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var schema = $"{liveSchema[..Math.Min(liveSchema.Length, 40)]}_scratch_{suffix}";
        var store = new DocumentStore(ScratchOptions(connectionString, liveSchema, schema, suffix));
        var scratch = new ScratchStore(store, NpgsqlDataSource.Create(connectionString), liveSchema, schema, suffix, projections);
        try
        {
            await scratch.SnapshotLiveAsync(ct);
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync(); // every document table of the scratch schema, once
            return scratch;
        }
        catch
        {
            await scratch.DisposeAsync();
            throw;
        }
    }

    private static StoreOptions ScratchOptions(string connectionString, string liveSchema, string schema, string suffix)
    {
        var o = new StoreOptions();
        ControlPlaneApp.ConfigureStore(o, connectionString, liveSchema);
        o.Events.DatabaseSchemaName = liveSchema; // the live events …
        o.DatabaseSchemaName = schema;            // … projected into documents of the scratch schema
        if (o.Projections.All.FirstOrDefault(p => p is not ProjectionBase) is { } unnamed)
            throw new InvalidOperationException($"projection {unnamed.Name} cannot be renamed for a scratch store");
        foreach (var projection in o.Projections.All.Cast<ProjectionBase>())
        {
            projection.Name = ScratchName(projection.Name, suffix);
            // This store only ever rebuilds: pages twenty times the default size (500) take fewer round trips, and a
            // projection with few events of its own pages through the history quickly.
            projection.Options.BatchSize = 10_000;
        }
        return o;
    }

    private static string ScratchName(string name, string suffix) => $"{name}_scratch_{suffix}";

    public static string Table(IDocumentStore store, Type document) => store.Options.Schema.For(document, false);

    private async Task SnapshotLiveAsync(CancellationToken ct)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await Sql(conn, $"create schema {Schema}", ct);
        foreach (var table in Tables.Distinct())
            await Sql(conn, $"create table {Schema}.{table}__live as select id, xmin::text as written_by from {LiveSchema}.{table}", ct);
        await using (var head = new NpgsqlCommand($"select coalesce(max(seq_id), 0) from {LiveSchema}.mt_events", conn))
            _head = (long)(await head.ExecuteScalarAsync(ct))!;
        await tx.CommitAsync(ct);
    }

    private IEnumerable<string> Tables => Projections.Select(p => Table(_store, p.Document));

    /// <summary>Rebuilds every projection through the scratch store's daemon, reporting the sequence each has reached, and makes
    /// sure each reached the head noted at the start.</summary>
    public async Task RebuildAsync(IProgress<ProjectionProgress>? progress, ILogger log, CancellationToken ct)
    {
        using var daemon = await _store.BuildProjectionDaemonAsync(logger: log);
        // All at once: the daemon runs at most its rebuild budget of them together (Marten's MaxConcurrentRebuildsPerDatabase).
        await Task.WhenAll(Projections.DistinctBy(p => p.Name).Select(p => RebuildOneAsync(daemon, p, progress, ct)));
    }

    private async Task RebuildOneAsync(JasperFx.Events.Daemon.IProjectionDaemon daemon, ProjectionTarget projection, IProgress<ProjectionProgress>? progress, CancellationToken ct)
    {
        var name = ScratchName(projection.Name, _suffix);
        var clock = Stopwatch.StartNew();
        ProjectionProgress Report(long position, bool done)
        {
            var ceiling = Math.Max(daemon.Tracker.HighWaterMark, position);
            return new(projection.Name, position, ceiling, position / Math.Max(clock.Elapsed.TotalSeconds, 1e-3), done);
        }
        using (daemon.Tracker.Subscribe(new Observer(s =>
               {
                   if (s.ShardName.StartsWith(name + ":", StringComparison.Ordinal) && s.Sequence > 0) progress?.Report(Report(s.Sequence, false));
               })))
            await daemon.RebuildProjectionAsync(name, ShardTimeout, ct);
        ct.ThrowIfCancellationRequested();
        // The daemon's own account of how far the rebuild went (an inline projection keeps no progression row).
        var reached = daemon.Tracker.CurrentStates()
            .Where(s => s.ShardName.StartsWith(name + ":", StringComparison.Ordinal)).Select(s => s.Sequence).DefaultIfEmpty(0).Max();
        if (reached < _head)
            throw new RebuildAborted(
                $"the rebuild of {projection.Name} stopped at sequence {reached:N0}, below the head {_head:N0} when it began: a transaction " +
                "that appended events was still open; nothing was replaced, run it again");
        progress?.Report(Report(reached, true));
    }

    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken ct) => _db.OpenConnectionAsync(ct);

    /// <summary>The ids of live rows of <paramref name="table"/> written since the snapshot (see the remarks), as a SQL
    /// subquery to use in a statement that reads the live table in the same snapshot.</summary>
    public string Touched(string table) => $"""
        (select l.id from {LiveSchema}.{table} l left join {Schema}.{table}__live v on v.id = l.id
          where v.id is null or v.written_by <> l.xmin::text
         union all
         select v.id from {Schema}.{table}__live v where not exists (select 1 from {LiveSchema}.{table} l where l.id = v.id))
        """;

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var conn = await _db.OpenConnectionAsync();
            await Sql(conn, $"drop schema if exists {Schema} cascade", CancellationToken.None);
            await using var rows = new NpgsqlCommand($"delete from {LiveSchema}.mt_event_progression where name like @names", conn);
            rows.Parameters.AddWithValue("names", $"%\\_scratch\\_{_suffix}:%");
            await rows.ExecuteNonQueryAsync();
        }
        finally
        {
            await _store.DisposeAsync();
            await _db.DisposeAsync();
        }
    }

    public static async Task Sql(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private sealed class Observer(Action<ShardState> next) : IObserver<ShardState>
    {
        public void OnNext(ShardState value) => next(value);
        public void OnError(Exception error) { }
        public void OnCompleted() { }
    }
}
