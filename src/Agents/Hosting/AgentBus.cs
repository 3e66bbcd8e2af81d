using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Training;
using JasperFx.Resources;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;
using Wolverine.Configuration;
using Wolverine.ErrorHandling;
using Wolverine.Kafka;
using Wolverine.Postgresql;
using Wolverine.Postgresql.Transport;
using Wolverine.RabbitMQ;

namespace EventMlOps.Agents.Hosting;

/// <summary>The agents' side of the bus, on the control plane's transport (<see cref="BusSettings"/>): work orders
/// arrive on <see cref="BusHeaders.AgentsQueue"/>, facts leave for <see cref="BusHeaders.ControlPlaneQueue"/> with the
/// agent's token in the <see cref="BusHeaders.Token"/> header. With PostgreSQL (the default) the queues live in
/// <c>{schema}_queues</c> of the control plane's database and the agent's inbox/outbox in its own <c>{schema}_agents</c>.</summary>
public static class AgentBus
{
    /// <param name="connectionString">The database for the durable inbox/outbox: required for the PostgreSQL
    /// transport; with RabbitMQ or Kafka optional (without it, facts are sent inline and orders buffered).</param>
    public static void Configure(WolverineOptions opts, BusSettings settings, string? connectionString, string schema, AgentToken token, WorkGrants grants)
    {
        var durable = connectionString is not null;
        void Stamp(Envelope e)
        {
            e.Headers[BusHeaders.Token] = token.Current;
            // A fact about a run or endpoint goes with the grant of its work order: without it the control plane refuses it.
            if (WorkGrants.ScopeOf(e.Message) is { } scope && grants.For(scope) is { } grant) e.Headers[BusHeaders.Grant] = grant;
            // The facts of one run must be handled in the order they were observed (submitted before started, epochs
            // before the outcome): grouped by the run's stream, a listener partitioned by GroupId keeps that order.
            if (RunOf(e.Message) is { } runId) e.GroupId ??= StreamKeys.Run(runId);
            else if (EndpointOf(e.Message) is { } endpoint) e.GroupId ??= StreamKeys.Endpoint(endpoint);
        }
        // One agent process per machine: it owns whatever its envelope storage holds (recovered after a crash).
        opts.Durability.Mode = DurabilityMode.Solo;
        switch (settings.Transport)
        {
            case BusTransport.Postgresql:
                opts.UsePostgresqlPersistenceAndTransport(connectionString ?? throw new ArgumentNullException(nameof(connectionString)),
                    schema + "_agents", transportSchema: schema + "_queues");
                opts.Transports.GetOrCreate<PostgresqlTransport>().EnableQueueNotifications = true;
                opts.ListenToPostgresqlQueue(BusHeaders.AgentsQueue).MaximumMessagesToReceive(20).PollingInterval(TimeSpan.FromMilliseconds(250));
                // PostgreSQL queues have no inline sending: the outbox row moves into the queue table.
                opts.Publish(rule => { Messages(rule); rule.ToPostgresqlQueue(BusHeaders.ControlPlaneQueue).UseDurableOutbox().CustomizeOutgoing(Stamp); });
                break;
            case BusTransport.RabbitMq:
                if (durable) opts.PersistMessagesWithPostgresql(connectionString!, schema + "_agents");
                opts.UseRabbitMq(new Uri(settings.Address!)).AutoProvision();
                var rabbit = opts.ListenToRabbitQueue(BusHeaders.AgentsQueue);
                if (durable) rabbit.UseDurableInbox();
                opts.Publish(rule =>
                {
                    Messages(rule);
                    var to = rule.ToRabbitQueue(BusHeaders.ControlPlaneQueue).CustomizeOutgoing(Stamp);
                    if (durable) to.UseDurableOutbox(); else to.SendInline();
                });
                break;
            case BusTransport.Kafka:
                if (durable) opts.PersistMessagesWithPostgresql(connectionString!, schema + "_agents");
                opts.UseKafka(settings.Address!).AutoProvision();
                var kafka = opts.ListenToKafkaTopic(BusHeaders.AgentsQueue);
                if (durable) kafka.UseDurableInbox();
                opts.Publish(rule =>
                {
                    Messages(rule);
                    var to = rule.ToKafkaTopic(BusHeaders.ControlPlaneQueue).CustomizeOutgoing(Stamp);
                    if (durable) to.UseDurableOutbox(); else to.SendInline();
                });
                break;
        }
        opts.Services.AddResourceSetupOnStartup();
        // A failing work order (e.g. the artifact store is unreachable) is retried, then kept in the dead-letter store.
        opts.OnException<Exception>()
            .RetryWithCooldown(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15))
            .Then.MoveToErrorQueue();
    }

    public static Guid? RunOf(object? fact) => (fact as IRunFact)?.RunId;

    public static string? EndpointOf(object? fact) => (fact as IEndpointFact)?.Endpoint;

    // Every agent report, whichever slice declares it: a new fact cannot be forgotten here.
    private static void Messages(PublishingExpression rule) => rule.MessagesImplementing<IAgentReport>();
}
