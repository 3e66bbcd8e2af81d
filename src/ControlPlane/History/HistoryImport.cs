using System.Globalization;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;
using NpgsqlTypes;

namespace EventMlOps.ControlPlane.History;

/// <summary>Where an import continues a store's history: its last event, by global sequence and chain hash.</summary>
public sealed record AppendPoint(long Sequence, string Hash)
{
    public override string ToString() => $"{Sequence}:{Hash}";

    /// <summary>Parses <c>&lt;sequence&gt;:&lt;sha256&gt;</c> (as an export or an import prints its head).</summary>
    public static AppendPoint? Parse(string? text, string field = "appendAfter")
    {
        if (string.IsNullOrEmpty(text)) return null;
        var colon = text.IndexOf(':');
        if (colon < 1 || !long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) || sequence < 1)
            throw new InvalidField(field, "must be <sequence>:<sha256>, the store's last event and its chain hash (an export prints its head so)");
        return new AppendPoint(sequence, Guard.Sha256(field, text[(colon + 1)..]));
    }
}

/// <summary>Gives an event store a history file (<see cref="HistoryFormat"/>): the file is spooled to a bounded temporary
/// file and verified whole before anything is written (<see cref="HistoryVerification"/>); then, in one transaction, every
/// event is stored with its own global sequence, stream version, time and metadata (binary COPY into Marten's tables), the
/// event sequence and the high-water mark move past it, and every subscription's progress is set there — so the agents are
/// sent nothing that history already did. The projections are then rebuilt by Marten's projection daemon. Into an empty
/// store, or after the store's own last event when the caller names it (<see cref="AppendPoint"/>) and the file holds the
/// very same history up to it (its chain hash there recomputed from this store's events).
/// The store's projection daemon is paused meanwhile: import where one control plane serves the store.</summary>
public sealed class HistoryImport(IDocumentStore store, IProjectionCoordinator coordinator, HistoryExport export, IConfiguration config,
    ILogger<HistoryImport> log)
{
    public const long DefaultMaxBytes = 1L << 30;

    /// <summary>The largest history file accepted (<c>History:MaxImportBytes</c>, 1 GiB by default).</summary>
    public long MaxBytes => config.GetValue("History:MaxImportBytes", DefaultMaxBytes);

    private StoreOptions Options => (StoreOptions)store.Options;
    private string Schema => store.Options.Events.DatabaseSchemaName;

    /// <param name="length">The body's declared length, when known: too large is refused before reading it.</param>
    public async Task<HistoryImported> ImportAsync(Stream history, long? length, AppendPoint? after, string actor, CancellationToken ct)
    {
        if (length > MaxBytes) throw TooLarge();
        await using var file = await SpoolAsync(history, ct);
        var verified = await HistoryVerification.VerifyAsync(file, EventSchemas.Readable(store), after?.Sequence ?? 0, ct);
        var from = after?.Sequence ?? 0;
        if (after is null)
        {
            if (await HeadAsync(ct) is var head and > 0)
                throw new HistoryRefused($"this store is not empty (its last event is sequence {head}): import into an empty store, " +
                                         "or continue its history with --append-after <its last sequence>:<its chain hash>", status: 409);
        }
        else
            await CheckAppendPointAsync(verified, after, ct);

        var imported = 0L;
        IReadOnlyList<string> rebuilt = [], subscriptions = [];
        if (verified.UntilSequence > from)
        {
            subscriptions = [.. Options.Projections.AllShards().Where(s => s.Role == ShardRole.Subscription).Select(s => s.Name.Identity)];
            rebuilt = [.. Options.Projections.All.Where(p => p.Lifecycle != ProjectionLifecycle.Live).Select(p => p.Name)];
            // No agent of this node's daemon may read the history before its subscriptions' progress is past it.
            await coordinator.PauseAsync();
            try
            {
                imported = await WriteAsync(file, verified, from, subscriptions, ct);
                var daemon = coordinator.DaemonForMainDatabase();
                foreach (var projection in rebuilt)
                    await daemon.RebuildProjectionAsync(projection, TimeSpan.FromMinutes(10), ct);
            }
            finally
            {
                await coordinator.ResumeAsync();
            }
        }
        log.LogInformation("{Actor} imported {Events} events ({From}..{Until}) of a history from {Product}; head {Head}",
            actor, imported, from + 1, verified.UntilSequence, verified.Product, verified.Head);
        return new HistoryImported(imported, from + 1, verified.UntilSequence, $"{verified.UntilSequence}:{verified.Head}", verified.Product, rebuilt,
            subscriptions);
    }

    private HistoryRefused TooLarge() =>
        new($"the history is larger than this control plane accepts ({MaxBytes:N0} bytes; setting History:MaxImportBytes)", status: 413);

    /// <summary>The body in a temporary file (deleted when closed), refused once it passes <see cref="MaxBytes"/>.</summary>
    private async Task<FileStream> SpoolAsync(Stream body, CancellationToken ct)
    {
        var file = new FileStream(Path.Combine(Path.GetTempPath(), $"emo-history-{Guid.NewGuid():N}.ndjson"), FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.None, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, ct)) > 0)
            {
                if ((total += read) > MaxBytes) throw TooLarge();
                await file.WriteAsync(buffer.AsMemory(0, read), ct);
            }
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    /// <summary>The file continues this store only if the store's last event is the append point and the file's history up
    /// to it is this store's: the same chain hash there, recomputed from this store's own events.</summary>
    private async Task CheckAppendPointAsync(VerifiedHistory verified, AppendPoint after, CancellationToken ct)
    {
        if (verified.HashAtAppendPoint is not { } theirs)
            throw new HistoryRefused($"the file holds no event at sequence {after.Sequence} to append after");
        if (theirs != after.Hash)
            throw new HistoryRefused($"the file's event at sequence {after.Sequence} has chain hash {theirs}, not {after.Hash}");
        var head = await HeadAsync(ct);
        if (head != after.Sequence)
            throw new HistoryRefused($"this store's last event is sequence {head}, not {after.Sequence}", status: 409);
        var mine = await export.WriteAsync(Stream.Null, after.Sequence.ToString(CultureInfo.InvariantCulture), ct);
        if (mine.Head != after.Hash)
            throw new HistoryRefused($"this store's history up to sequence {after.Sequence} is not the file's: its chain hash there is {mine.Head}", status: 409);
    }

    private async Task<long> HeadAsync(CancellationToken ct)
    {
        await using var conn = store.Storage.Database.CreateConnection();
        await conn.OpenAsync(ct);
        return await HeadAsync(conn, ct);
    }

    private async Task<long> HeadAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"select coalesce(max(seq_id), 0) from {Schema}.mt_events", conn);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>One transaction: the streams, the events after <paramref name="from"/>, the event sequence, the high-water
    /// mark and the subscriptions' progress.</summary>
    private async Task<long> WriteAsync(Stream file, VerifiedHistory history, long from, IReadOnlyList<string> subscriptions, CancellationToken ct)
    {
        var dotnetTypes = EventSchemas.Readable(store);
        await using var conn = store.Storage.Database.CreateConnection();
        await conn.OpenAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        try
        {
            // Appends wait until this commits; the store must still end where it was checked.
            await ExecuteAsync(conn, $"lock table {Schema}.mt_events in exclusive mode", ct);
            if (await HeadAsync(conn, ct) != from)
                throw new HistoryRefused("this store's history changed while the file was verified: nothing was imported", status: 409);

            var streams = history.Streams.Where(s => s.LastSequence > from).ToList();
            await ExecuteAsync(conn, $"""
                insert into {Schema}.mt_streams (id, type, version, created, timestamp)
                select * from unnest(@id, @type, @version, @created, @updated)
                on conflict (id) do update set version = excluded.version, timestamp = excluded.timestamp
                """, ct,
                new NpgsqlParameter<string[]>("id", [.. streams.Select(s => s.Key)]),
                new NpgsqlParameter<string?[]>("type", [.. streams.Select(s => s.Type)]),
                new NpgsqlParameter<long[]>("version", [.. streams.Select(s => s.Version)]),
                new NpgsqlParameter<DateTimeOffset[]>("created", [.. streams.Select(s => s.Created)]),
                new NpgsqlParameter<DateTimeOffset[]>("updated", [.. streams.Select(s => s.Updated)]));

            var count = 0L;
            await using (var copy = await conn.BeginBinaryImportAsync($"""
                             copy {Schema}.mt_events (seq_id, id, stream_id, version, data, type, timestamp, mt_dotnet_type, correlation_id, causation_id,
                                                      headers, user_name) from stdin (format binary)
                             """, ct))
            {
                await foreach (var e in HistoryVerification.EventsAsync(file, ct))
                {
                    if (e.Sequence <= from) continue;
                    await copy.StartRowAsync(ct);
                    await copy.WriteAsync(e.Sequence, NpgsqlDbType.Bigint, ct);
                    await copy.WriteAsync(e.Id, NpgsqlDbType.Uuid, ct);
                    await copy.WriteAsync(e.Stream, NpgsqlDbType.Varchar, ct);
                    await copy.WriteAsync(e.Version, NpgsqlDbType.Bigint, ct);
                    await copy.WriteAsync(e.Data, NpgsqlDbType.Jsonb, ct);
                    await copy.WriteAsync(e.Type, NpgsqlDbType.Varchar, ct);
                    await copy.WriteAsync(e.Timestamp, NpgsqlDbType.TimestampTz, ct);
                    await copy.WriteAsync(dotnetTypes[e.Type], NpgsqlDbType.Varchar, ct);
                    await WriteNullableAsync(copy, e.CorrelationId, NpgsqlDbType.Varchar, ct);
                    await WriteNullableAsync(copy, e.CausationId, NpgsqlDbType.Varchar, ct);
                    await WriteNullableAsync(copy, e.Headers, NpgsqlDbType.Jsonb, ct);
                    await WriteNullableAsync(copy, e.Actor, NpgsqlDbType.Varchar, ct);
                    count++;
                }
                await copy.CompleteAsync(ct);
            }

            var until = history.UntilSequence;
            await ExecuteAsync(conn, $"select setval('{Schema}.mt_events_sequence', greatest((select last_value from {Schema}.mt_events_sequence), @until))", ct,
                new NpgsqlParameter<long>("until", until));
            await ExecuteAsync(conn, $"""
                insert into {Schema}.mt_event_progression (name, last_seq_id) select unnest(@names), @until
                on conflict (name) do update set last_seq_id = greatest({Schema}.mt_event_progression.last_seq_id, excluded.last_seq_id),
                                                 last_updated = transaction_timestamp()
                """, ct,
                new NpgsqlParameter<string[]>("names", [ShardState.HighWaterMark, .. subscriptions]), new NpgsqlParameter<long>("until", until));
            await tx.CommitAsync(ct);
            return count;
        }
        catch (PostgresException e)
        {
            // The text of the database's refusal, never its detail (which may quote the data).
            throw new HistoryRefused($"the store refused the history ({e.SqlState}: {e.MessageText}): nothing was imported");
        }
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value, NpgsqlDbType type, CancellationToken ct)
    {
        if (value is null) await copy.WriteNullAsync(ct);
        else await copy.WriteAsync(value, type, ct);
    }

    private static async Task ExecuteAsync(NpgsqlConnection conn, string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        cmd.Parameters.AddRange(parameters);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
