using System.Text.Json;
using System.Text.RegularExpressions;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Streams;
using EventMlOps.Hosting;
using Npgsql;
using NpgsqlTypes;
using Wolverine.Runtime.Serialization;
using Wolverine.Util;

namespace EventMlOps.Serving.Streams;

/// <summary>The scorer's durable state in its own schema: the batches it has scored (a redelivered batch id changes
/// nothing), each machine's windows (<see cref="MachineWindows"/>), and the facts still to report (an outbox the
/// <see cref="FactSender"/> drains). One transaction per batch holds all three.</summary>
public sealed partial class StreamStore(NpgsqlDataSource database, string schema)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web), Wire = WireOptions();
    private readonly Lazy<Task> _created = new(() => CreateAsync(database, schema));

    public string Schema { get; } = SchemaName().IsMatch(schema) ? schema : throw new ArgumentException("Serving:Stream:Schema must be 1-63 lowercase letters, digits or '_', starting with a letter or '_'");

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}\\z")]
    private static partial Regex SchemaName();

    private static async Task CreateAsync(NpgsqlDataSource database, string schema)
    {
        await using var command = database.CreateCommand($"""
            create schema if not exists {schema};
            create table if not exists {schema}.stream_batches (id uuid primary key, readings int not null, at timestamptz not null default now());
            create table if not exists {schema}.stream_machines (machine text primary key, state jsonb not null);
            create table if not exists {schema}.stream_facts (seq bigserial primary key, id uuid not null unique, type text not null, body jsonb not null);
            """);
        await command.ExecuteNonQueryAsync();
    }

    private static JsonSerializerOptions WireOptions()
    {
        var options = new JsonSerializerOptions();
        WireJson.Configure(options);
        return options;
    }

    /// <summary>Opens the batch's transaction, or null when the batch was scored before.</summary>
    public async Task<BatchTransaction?> BeginAsync(Guid batchId, int readings, CancellationToken ct)
    {
        await _created.Value.WaitAsync(ct);
        var connection = await database.OpenConnectionAsync(ct);
        var transaction = await connection.BeginTransactionAsync(ct);
        await using var insert = new NpgsqlCommand($"insert into {Schema}.stream_batches (id, readings) values ($1, $2) on conflict do nothing", connection, transaction)
        {
            Parameters = { new() { Value = batchId }, new() { Value = readings } },
        };
        if (await insert.ExecuteNonQueryAsync(ct) == 1) return new BatchTransaction(connection, transaction, Schema);
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
        return null;
    }

    /// <summary>The batches the scorer's Wolverine inbox (in this schema) holds but has not handled, in the order they were
    /// sent: after a crash, what the killed scorer had taken from the queue but not committed.</summary>
    public async Task<List<SensorReadings>> HeldBatchesAsync(CancellationToken ct)
    {
        await using var command = database.CreateCommand(
            $"select body from {Schema}.wolverine_incoming_envelopes where status <> 'Handled' and message_type = $1");
        command.Parameters.Add(new() { Value = typeof(SensorReadings).ToMessageTypeName() });
        var envelopes = new List<Wolverine.Envelope>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                envelopes.Add(EnvelopeSerializer.Deserialize(reader.GetFieldValue<byte[]>(0)));
        return [.. envelopes.OrderBy(e => e.SentAt).Select(Batch).OfType<SensorReadings>()];
    }

    /// <summary>A held envelope's batch, or null when it is not one (Wolverine fails it on its own when it comes).</summary>
    private static SensorReadings? Batch(Wolverine.Envelope envelope)
    {
        try { return envelope.Data is { } data ? JsonSerializer.Deserialize<SensorReadings>(data, Wire) : null; }
        catch (JsonException) { return null; }
    }

    /// <summary>Every machine's windows (for the counters).</summary>
    public async Task<Dictionary<string, MachineWindows>> MachinesAsync(CancellationToken ct)
    {
        await _created.Value.WaitAsync(ct);
        await using var command = database.CreateCommand($"select machine, state from {Schema}.stream_machines");
        return await ReadMachinesAsync(command, ct);
    }

    /// <summary>The oldest facts not yet reported, in the order they were decided.</summary>
    public async Task<List<(long Seq, IReplicaFact Fact)>> PendingFactsAsync(int limit, CancellationToken ct)
    {
        await _created.Value.WaitAsync(ct);
        await using var command = database.CreateCommand($"select seq, type, body from {Schema}.stream_facts order by seq limit $1");
        command.Parameters.Add(new() { Value = limit });
        var facts = new List<(long, IReplicaFact)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var type = reader.GetString(1) == nameof(AnomalyAlarmRaised) ? typeof(AnomalyAlarmRaised) : typeof(AnomalyAlarmCleared);
            facts.Add((reader.GetInt64(0), (IReplicaFact)JsonSerializer.Deserialize(reader.GetString(2), type, Json)!));
        }
        return facts;
    }

    public async Task ReportedAsync(long seq, CancellationToken ct)
    {
        await using var command = database.CreateCommand($"delete from {Schema}.stream_facts where seq = $1");
        command.Parameters.Add(new() { Value = seq });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Forgets batches seen long ago: the inbox redelivers within minutes, never after <paramref name="age"/>.</summary>
    public async Task ForgetBatchesAsync(TimeSpan age, CancellationToken ct)
    {
        await _created.Value.WaitAsync(ct);
        await using var command = database.CreateCommand($"delete from {Schema}.stream_batches where at < now() - $1");
        command.Parameters.Add(new() { Value = age });
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<Dictionary<string, MachineWindows>> ReadMachinesAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var machines = new Dictionary<string, MachineWindows>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            machines[reader.GetString(0)] = JsonSerializer.Deserialize<MachineWindows>(reader.GetString(1), Json)!;
        return machines;
    }

    /// <summary>One batch's transaction: load the machines it touches (locked), save them with the facts decided, commit.</summary>
    public sealed class BatchTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema) : IAsyncDisposable
    {
        public async Task<Dictionary<string, MachineWindows>> LoadAsync(IReadOnlyCollection<string> machines, CancellationToken ct)
        {
            await using var command = new NpgsqlCommand($"select machine, state from {schema}.stream_machines where machine = any($1) for update", connection, transaction);
            command.Parameters.Add(new() { Value = machines.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            return await ReadMachinesAsync(command, ct);
        }

        public async Task CommitAsync(IReadOnlyDictionary<string, MachineWindows> machines, IReadOnlyList<IReplicaFact> facts, CancellationToken ct)
        {
            var batch = new NpgsqlBatch(connection, transaction);
            foreach (var (machine, state) in machines)
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    $"insert into {schema}.stream_machines (machine, state) values ($1, $2) on conflict (machine) do update set state = excluded.state")
                {
                    Parameters = { new() { Value = machine }, new() { Value = JsonSerializer.Serialize(state, Json), NpgsqlDbType = NpgsqlDbType.Jsonb } },
                });
            foreach (var fact in facts)
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into {schema}.stream_facts (id, type, body) values ($1, $2, $3) on conflict (id) do nothing")
                {
                    Parameters =
                    {
                        new() { Value = fact.CommandId }, new() { Value = fact.GetType().Name },
                        new() { Value = JsonSerializer.Serialize(fact, fact.GetType(), Json), NpgsqlDbType = NpgsqlDbType.Jsonb },
                    },
                });
            await using (batch)
                if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(ct);
            await transaction.CommitAsync(ct);
        }

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
