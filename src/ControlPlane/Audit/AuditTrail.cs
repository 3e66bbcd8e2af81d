using System.Text.Json;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using Marten;
using Npgsql;

namespace EventMlOps.ControlPlane.Audit;

public sealed record AuditFilter(string? Actor = null, string? Stream = null, DateTimeOffset? Since = null, DateTimeOffset? Until = null,
    string? CorrelationId = null, long? AfterSequence = null, int Limit = 100, string? Type = null);

/// <summary>The audit trail is a filtered read of the event table itself, with indexes on the metadata
/// columns: it is exact by construction and cannot drift from the history it reports.</summary>
public static class AuditTrail
{
    public static async Task<IReadOnlyList<AuditEntry>> QueryAsync(IDocumentStore store, AuditFilter filter, CancellationToken ct)
    {
        Paging.Limit(filter.Limit);
        var schema = store.Options.Events.DatabaseSchemaName;
        var where = new List<string>();
        await using var conn = store.Storage.Database.CreateConnection();
        await conn.OpenAsync(ct);
        await using var cmd = conn.CreateCommand();
        void Add(string clause, object? value)
        {
            if (value is null) return;
            where.Add(clause.Replace("@p", $"@p{cmd.Parameters.Count}"));
            cmd.Parameters.Add(new NpgsqlParameter($"p{cmd.Parameters.Count}", value));
        }
        Add("user_name = @p", filter.Actor);
        Add("stream_id = @p", filter.Stream);
        Add("type = @p", filter.Type);
        Add("timestamp >= @p", filter.Since);
        Add("timestamp <= @p", filter.Until);
        Add("correlation_id = @p", filter.CorrelationId);
        Add("seq_id > @p", filter.AfterSequence);
        // Tailing reads forwards from a sequence; every other question wants the newest first.
        var order = filter.AfterSequence is null ? "desc" : "asc";
        cmd.CommandText = $"""
            select seq_id, timestamp, type, stream_id, version, user_name, correlation_id, causation_id, data::text
            from {schema}.mt_events {(where.Count == 0 ? "" : "where " + string.Join(" and ", where))}
            order by seq_id {order} limit {filter.Limit}
            """;
        var entries = new List<AuditEntry>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            entries.Add(new AuditEntry(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3),
                reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), JsonDocument.Parse(reader.GetString(8)).RootElement));
        return entries;
    }

    /// <summary>Indexes for the audit filters. Marten's start-up migration does not know them and drops them on an
    /// existing store, so they are rebuilt after every start — concurrently, so the start and writers never wait.</summary>
    public static async Task EnsureIndexesAsync(IDocumentStore store, CancellationToken ct)
    {
        var schema = store.Options.Events.DatabaseSchemaName;
        await using var conn = store.Storage.Database.CreateConnection();
        await conn.OpenAsync(ct);
        foreach (var index in new[]
                 {
                     $"ix_emo_events_user on {schema}.mt_events (user_name, seq_id)",
                     $"ix_emo_events_correlation on {schema}.mt_events (correlation_id)",
                     $"ix_emo_events_timestamp on {schema}.mt_events (timestamp)",
                 })
        {
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = $"create index concurrently if not exists {index}"; // one statement each: no transaction block
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }
}
