using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Commanding;
using JasperFx.Resources;
using Wolverine;
using Wolverine.Configuration;
using Wolverine.ErrorHandling;
using Wolverine.Kafka;
using Wolverine.Postgresql;
using Wolverine.RabbitMQ;

namespace EventMlOps.ControlPlane.Hosting;

public static class Bus
{
    /// <summary>Listens for commands on <see cref="BusHeaders.ControlPlaneQueue"/> and sends work orders to
    /// <see cref="BusHeaders.AgentsQueue"/>, both through the durable inbox/outbox.</summary>
    public static void Configure(WolverineOptions opts, BusSettings settings)
    {
        switch (settings.Transport)
        {
            case BusTransport.Postgresql:
                // Queue notifications + a short poll: a message is handled within milliseconds instead of the 5 s default.
                opts.Transports.GetOrCreate<Wolverine.Postgresql.Transport.PostgresqlTransport>().EnableQueueNotifications = true;
                // Facts about one run or endpoint carry its stream as the group id: handled in order (submitted before
                // started), different streams in parallel.
                opts.ListenToPostgresqlQueue(BusHeaders.ControlPlaneQueue).MaximumMessagesToReceive(100).PollingInterval(TimeSpan.FromMilliseconds(250))
                    .PartitionProcessingByGroupId(PartitionSlots.Five);
                PublishWorkOrders(opts, to => to.ToPostgresqlQueue(BusHeaders.AgentsQueue));
                break;
            case BusTransport.RabbitMq:
                opts.UseRabbitMq(new Uri(settings.Address!)).AutoProvision();
                opts.ListenToRabbitQueue(BusHeaders.ControlPlaneQueue).UseDurableInbox();
                PublishWorkOrders(opts, to => to.ToRabbitQueue(BusHeaders.AgentsQueue));
                break;
            case BusTransport.Kafka:
                opts.UseKafka(settings.Address!).AutoProvision();
                // Commands go through the durable inbox: a crash after the read never loses one.
                opts.ListenToKafkaTopic(BusHeaders.ControlPlaneQueue).UseDurableInbox();
                PublishWorkOrders(opts, to => to.ToKafkaTopic(BusHeaders.AgentsQueue));
                break;
        }
        opts.Policies.UseDurableOutboxOnAllSendingEndpoints();
        opts.Services.AddResourceSetupOnStartup();

        opts.OnException<AlreadyHandled>().Discard();
        opts.OnException(ProblemMapping.IsConflict)
            .RetryWithCooldown(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250));
        // Refusals and bad senders are permanent: the message waits in the dead-letter store, and the refusal is recorded
        // for its sender to read (GET /api/commands/{id}; `emo publish` shows it).
        opts.OnException(ProblemMapping.IsExpected).MoveToErrorQueue().And(CommandOutcomes.RecordRefusalAsync, "record the refusal for its sender");
    }

    private static void PublishWorkOrders(WolverineOptions opts, Action<IPublishToExpression> to) =>
        opts.Publish(rule =>
        {
            rule.MessagesImplementing<IWorkOrder>();
            to(rule);
        });
}
