using EventMlOps.Contracts.Streams;
using JasperFx.Resources;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Kafka;
using Wolverine.Postgresql;
using Wolverine.Postgresql.Transport;
using Wolverine.RabbitMQ;

namespace EventMlOps.Serving.Streams;

/// <summary>The scorer's side of the bus: it listens, durably and one batch at a time (windows need their readings in
/// order), on its endpoint's queue (<see cref="SensorReadings.QueueOf"/>) of the platform's transport, its inbox in its
/// own schema. It sends nothing on the bus: its facts go to the control plane over HTTP with the replica's token.</summary>
public static class StreamBus
{
    public static void Configure(WolverineOptions opts, BusSettings settings, string database, string schema, string queueSchema, string endpoint)
    {
        opts.ApplicationAssembly = typeof(StreamBus).Assembly;
        opts.UseSystemTextJsonForSerialization(WireJson.Configure);
        // One scorer per endpoint: it owns whatever its inbox holds (recovered after a crash).
        opts.Durability.Mode = DurabilityMode.Solo;
        opts.Durability.ScheduledJobPollingTime = TimeSpan.FromMilliseconds(250);
        opts.Durability.KeepAfterMessageHandling = TimeSpan.FromMinutes(5);
        var queue = SensorReadings.QueueOf(endpoint);
        switch (settings.Transport)
        {
            case BusTransport.Postgresql:
                opts.UsePostgresqlPersistenceAndTransport(database, schema, transportSchema: queueSchema);
                opts.Transports.GetOrCreate<PostgresqlTransport>().EnableQueueNotifications = true;
                // Few at a time: what a killed scorer held is scored first after a restart (StreamScorer.HandleAsync). The
                // listener waits a polling interval after each fetch, notifications or not: at 250 ms it took ~39 messages/s
                // (bench/Streams.Bench), below the paper's 200 per replica; 20 ms allows ~500 for 50 cheap idle polls a second.
                opts.ListenToPostgresqlQueue(queue).MaximumMessagesToReceive(10).PollingInterval(TimeSpan.FromMilliseconds(20)).Sequential();
                break;
            case BusTransport.RabbitMq:
                opts.PersistMessagesWithPostgresql(database, schema);
                opts.UseRabbitMq(new Uri(settings.Address!)).AutoProvision();
                opts.ListenToRabbitQueue(queue).UseDurableInbox().Sequential();
                break;
            case BusTransport.Kafka:
                opts.PersistMessagesWithPostgresql(database, schema);
                opts.UseKafka(settings.Address!).AutoProvision();
                opts.ListenToKafkaTopic(queue).UseDurableInbox().Sequential();
                break;
        }
        opts.Services.AddResourceSetupOnStartup();
        // A batch that came before any anomaly version was loaded waits for one; any other failure (the database away) is
        // retried, then kept in the dead-letter store rather than lost.
        opts.OnException<NoAnomalyModel>().ScheduleRetryIndefinitely(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        opts.OnException<Exception>()
            .RetryWithCooldown(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15))
            .Then.MoveToErrorQueue();
    }
}

/// <summary>Wolverine's handler for a batch of readings: the scorer does the work.</summary>
public static class SensorReadingsHandler
{
    public static Task Handle(SensorReadings batch, StreamScorer scorer, CancellationToken ct) => scorer.HandleAsync(batch, ct);
}
