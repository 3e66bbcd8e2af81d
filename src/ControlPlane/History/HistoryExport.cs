using System.Data;
using System.Reflection;
using System.Text.Json;
using EventMlOps.ControlPlane.Commanding;
using Marten;
using Npgsql;

namespace EventMlOps.ControlPlane.History;

/// <summary>What an export wrote: <paramref name="Events"/> event lines, the last of them <paramref name="UntilSequence"/>
/// with chain hash <paramref name="Head"/> (<see cref="HistoryFormat.Genesis"/> when there is none).</summary>
public sealed record ExportedHistory(long Events, long UntilSequence, string Head);

/// <summary>Writes the event store's history up to a moment as a history file (<see cref="HistoryFormat"/>), streaming, from
/// one consistent snapshot of the store: every event exactly as stored (its data and headers as PostgreSQL returns the
/// JSON), with its global sequence, stream, stream version, type and schema version, time, actor and ids.</summary>
public sealed class HistoryExport(IDocumentStore store, TimeProvider clock)
{
    public static readonly string Product =
        typeof(HistoryExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The history up to <paramref name="until"/> (an ISO 8601 time or a global sequence; the whole history when
    /// null) into <paramref name="output"/>. A bad moment is refused before anything is written.</summary>
    public async Task<ExportedHistory> WriteAsync(Stream output, string? until, CancellationToken ct)
    {
        // Lines are small: through a buffer rather than one write each (not disposed: the output is the caller's).
        var buffered = new BufferedStream(output, 64 * 1024);
        var moment = AsOf.Parse(until, "until");
        var schema = store.Options.Events.DatabaseSchemaName;
        await using var conn = store.Storage.Database.CreateConnection();
        await conn.OpenAsync(ct);
        // One snapshot for the count, the header and every line: appends that commit meanwhile are not half in the file.
        await using var tx = await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var bound = moment is { Time: { } time } ? await LastAtAsync(conn, schema, time, ct) : moment?.Sequence ?? long.MaxValue;
        var (events, last) = await CountAsync(conn, schema, bound, ct);

        var exportedAt = clock.GetUtcNow();
        var versions = EventSchemas.Current(store);
        await HistoryFormat.WriteLineAsync(buffered, json =>
        {
            json.WriteString("format", HistoryFormat.Version);
            json.WriteString("product", Product);
            json.WriteStartObject("schema");
            foreach (var (name, version) in versions) json.WriteNumber(name, version);
            json.WriteEndObject();
            json.WriteString("exportedAt", HistoryFormat.Time(exportedAt));
            json.WriteNumber("until", last);
            json.WriteNumber("events", events);
        }, ct);

        var head = HistoryFormat.Genesis;
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"""
            select e.seq_id, e.id, e.stream_id, s.type, e.version, e.type, e.timestamp, e.user_name, e.correlation_id, e.causation_id,
                   e.headers::text, e.data::text
            from {schema}.mt_events e join {schema}.mt_streams s on s.id = e.stream_id
            where e.seq_id <= @p order by e.seq_id
            """;
        cmd.Parameters.Add(new NpgsqlParameter("p", last));
        await using var reader = await cmd.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            var row = new Row(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), Text(reader, 3), reader.GetInt64(4), reader.GetString(5),
                reader.GetFieldValue<DateTimeOffset>(6), Text(reader, 7), Text(reader, 8), Text(reader, 9), Text(reader, 10), reader.GetString(11));
            var prev = head;
            head = await HistoryFormat.WriteLineAsync(buffered, json => row.Write(json, prev), ct);
        }
        await buffered.FlushAsync(ct);
        return new ExportedHistory(events, last, head);
    }

    private static string? Text(NpgsqlDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    private static async Task<long> LastAtAsync(NpgsqlConnection conn, string schema, DateTimeOffset time, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"select coalesce(max(seq_id), 0) from {schema}.mt_events where timestamp <= @t";
        cmd.Parameters.Add(new NpgsqlParameter("t", time.ToUniversalTime()));
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task<(long Events, long Last)> CountAsync(NpgsqlConnection conn, string schema, long bound, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"select count(*), coalesce(max(seq_id), 0) from {schema}.mt_events where seq_id <= @p";
        cmd.Parameters.Add(new NpgsqlParameter("p", bound));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private sealed record Row(long Seq, Guid Id, string Stream, string? StreamType, long Version, string Type, DateTimeOffset Timestamp,
        string? Actor, string? Correlation, string? Causation, string? Headers, string Data)
    {
        /// <summary>The event line's members, in this order (<see cref="HistoryVerification"/> reads them back).</summary>
        public void Write(Utf8JsonWriter json, string prev)
        {
            json.WriteNumber("seq", Seq);
            json.WriteString("id", Id);
            json.WriteString("stream", Stream);
            json.WriteString("streamType", StreamType);
            json.WriteNumber("version", Version);
            json.WriteString("type", Type);
            json.WriteNumber("schemaVersion", HistoryFormat.SchemaOf(Type).Version);
            json.WriteString("timestamp", HistoryFormat.Time(Timestamp));
            json.WriteString("actor", Actor);
            json.WriteString("correlationId", Correlation);
            json.WriteString("causationId", Causation);
            json.WritePropertyName("headers");
            if (Headers is null) json.WriteNullValue();
            else json.WriteRawValue(Headers, skipInputValidation: true);
            json.WritePropertyName("data");
            json.WriteRawValue(Data, skipInputValidation: true);
            json.WriteString("prev", prev);
        }
    }
}
