using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Integration.V1;
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
                // MassTransit publishers send to exchange:emo-control-plane, which feeds the queue; their JSON envelopes are
                // read beside Wolverine's messages, and their request clients get answers (MassTransitWire), as do Wolverine
                // publishers that invoke a command (WolverineReply).
                // No response queue of its own: the control plane awaits no replies, and one would be a listener that
                // honours any reply address a sender writes.
                opts.UseRabbitMq(new Uri(settings.Address!)).AutoProvision().DisableSystemRequestReplyQueueDeclaration()
                    .DeclareExchange(BusHeaders.ControlPlaneExchange, e =>
                    {
                        e.ExchangeType = ExchangeType.Fanout;
                        e.BindQueue(BusHeaders.ControlPlaneQueue);
                    });
                var wire = new MassTransitWire(WireJson.Configure);
                opts.AddSerializer(wire);
                opts.ListenToRabbitQueue(BusHeaders.ControlPlaneQueue).UseDurableInbox().UseInterop((_, mapper) =>
                {
                    MassTransitWire.MapMessageType(mapper);
                    WolverineReply.MoveReplyAddress(mapper);
                });
                opts.Services.AddSingleton(wire);
                opts.Services.AddSingleton(s => new BusAnswers(settings.Address!, wire, s.GetRequiredService<ILogger<BusAnswers>>()));
                opts.PublishMessage<PublisherAnswer>().ToLocalQueue("publisher-answers").UseDurableInbox();
                PublishWorkOrders(opts, to => to.ToRabbitQueue(BusHeaders.AgentsQueue));
                // Integration events as MassTransit envelopes: a MassTransit consumer binds its queue to the exchange.
                opts.Publish(rule =>
                {
                    rule.MessagesImplementing<IIntegrationEvent>();
                    rule.ToRabbitExchange(BusHeaders.EventsExchange, e => e.ExchangeType = ExchangeType.Fanout)
                        .UseMassTransitInterop(mt => mt.UseSystemTextJsonForSerialization(WireJson.Configure));
                });
                break;
            case BusTransport.Kafka:
                opts.UseKafka(settings.Address!).AutoProvision();
                // Commands go through the durable inbox: a crash after the read never loses one.
                opts.ListenToKafkaTopic(BusHeaders.ControlPlaneQueue).UseDurableInbox();
                PublishWorkOrders(opts, to => to.ToKafkaTopic(BusHeaders.AgentsQueue));
                opts.Publish(rule =>
                {
                    rule.MessagesImplementing<IIntegrationEvent>();
                    rule.ToKafkaTopic(BusHeaders.EventsExchange);
                });
                break;
        }
        opts.Policies.UseDurableOutboxOnAllSendingEndpoints();
        opts.Services.AddResourceSetupOnStartup();

        opts.OnException<AlreadyHandled>().CustomAction(PublisherAnswers.AnswerDuplicateAsync, "discard a duplicate, answering a publisher that awaits an answer");
        opts.OnException(ProblemMapping.IsConflict)
            .RetryWithCooldown(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250));
        // Refusals and bad senders are permanent: the refusal is recorded for its sender to read (GET /api/commands/{id};
        // `emo publish` shows it), answered to a publisher that awaits an answer, and otherwise the message waits in the
        // dead-letter store.
        opts.OnException(ProblemMapping.IsExpected).CustomAction(PublisherAnswers.AnswerRefusalAsync, "record the refusal; answer its sender or dead-letter it");
    }

    private static void PublishWorkOrders(WolverineOptions opts, Action<IPublishToExpression> to) =>
        opts.Publish(rule =>
        {
            rule.MessagesImplementing<IWorkOrder>();
            to(rule);
        });
}
