using EventMlOps.Client;
using EventMlOps.Contracts;
using EventMlOps.Hosting;
using Microsoft.Extensions.Hosting;
using Wolverine;
using Wolverine.Kafka;
using Wolverine.Postgresql;
using Wolverine.RabbitMQ;

namespace EventMlOps.Cli.Bus;

/// <summary>Where the control plane listens: its transport (as <see cref="BusSettings"/> reads it from configuration)
/// and, for the PostgreSQL queues, the database and the schema prefix its queues live under.</summary>
public sealed record BusTarget(BusSettings Settings, string? ConnectionString, string Schema)
{
    public string Describe() => Settings.Transport switch
    {
        BusTransport.Postgresql => $"PostgreSQL queue {Schema}_queues.{BusHeaders.ControlPlaneQueue}",
        BusTransport.RabbitMq => $"RabbitMQ queue {BusHeaders.ControlPlaneQueue}",
        _ => $"Kafka topic {BusHeaders.ControlPlaneQueue}",
    };
}

/// <summary>A minimal, short-lived Wolverine host that only sends: one message to the control plane's queue with the
/// sender's token in the <see cref="BusHeaders.Token"/> header, through EventMlOps.Client as any Wolverine service would.</summary>
public static class BusPublisher
{
    /// <returns>The id of the envelope that carried the message.</returns>
    public static async Task<Guid> SendAsync(BusTarget target, ICommand message, string token, string correlationId, CancellationToken ct)
    {
        var envelopeId = Guid.Empty;
        void Capture(Envelope e) => envelopeId = e.Id;

        using var host = Build(target, BusHeaders.ControlPlaneQueue, Capture);
        await host.StartAsync(ct);
        try
        {
            await host.MessageBus().SendCommandAsync(message, token, correlationId);
            if (target.Settings.Transport == BusTransport.Postgresql)
                await WaitUntilQueuedAsync(target, envelopeId, ct);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
        return envelopeId;
    }

    /// <summary>A sending-only host for <paramref name="queue"/>; <paramref name="observe"/> sees each outgoing envelope.</summary>
    public static IHost Build(BusTarget target, string queue, Action<Envelope> observe)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseWolverine(opts =>
        {
            // No handlers here; this assembly is scanned for none.
            opts.ApplicationAssembly = typeof(BusPublisher).Assembly;
            opts.UseSystemTextJsonForSerialization(WireJson.Configure);
            opts.Durability.Mode = DurabilityMode.Solo;
            // Inline where the transport allows: SendAsync returns once the broker has the message. PostgreSQL queues are
            // durable instead (the outbox row moves into the queue table in one statement); senders wait for that.
            switch (target.Settings.Transport)
            {
                case BusTransport.Postgresql:
                    // Our own envelope storage schema: this transient node must never join the control plane's node table.
                    opts.UsePostgresqlPersistenceAndTransport(target.ConnectionString!, target.Schema + "_wolverine_cli", transportSchema: target.Schema + "_queues");
                    opts.PublishAllMessages().ToPostgresqlQueue(queue).UseDurableOutbox().CustomizeOutgoing(observe);
                    break;
                case BusTransport.RabbitMq:
                    opts.UseRabbitMq(new Uri(target.Settings.Address!)).AutoProvision();
                    opts.PublishAllMessages().ToRabbitQueue(queue).SendInline().CustomizeOutgoing(observe);
                    break;
                case BusTransport.Kafka:
                    opts.UseKafka(target.Settings.Address!).AutoProvision();
                    opts.PublishAllMessages().ToKafkaTopic(queue).SendInline().CustomizeOutgoing(observe);
                    break;
            }
        });
        return builder.Build();
    }

    /// <summary>Waits until the durable sender has moved the envelope out of this node's outbox into the control plane's
    /// queue. A message still in the outbox after the wait is not lost: the next publish recovers and sends it.</summary>
    public static async Task WaitUntilQueuedAsync(BusTarget target, Guid envelopeId, CancellationToken ct)
    {
        await using var conn = new Npgsql.NpgsqlConnection(target.ConnectionString);
        await conn.OpenAsync(ct);
        await using var pending = new Npgsql.NpgsqlCommand(
            $"select count(*) from {target.Schema}_wolverine_cli.wolverine_outgoing_envelopes where id = @id", conn);
        pending.Parameters.AddWithValue("id", envelopeId);
        var until = DateTime.UtcNow.AddSeconds(15);
        while ((long)(await pending.ExecuteScalarAsync(ct))! > 0)
        {
            if (DateTime.UtcNow > until)
                throw new CliError($"message {envelopeId} is still in the local outbox ({target.Schema}_wolverine_cli) after 15 s; it will be sent by the next publish");
            await Task.Delay(20, ct);
        }
    }
}
