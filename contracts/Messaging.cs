namespace EventMlOps.Contracts;

/// <summary>Every command sent to the control plane carries a client-chosen id: a retried or
/// duplicated delivery of the same id appends nothing new.</summary>
public interface ICommand
{
    Guid CommandId { get; }
}

/// <summary>The role a command's sender needs (<see cref="Roles"/>; admin may send anything). Declared on the command
/// itself, so a new command cannot be forgotten in some central list; without it only admin may send it — except an
/// <see cref="IAgentReport"/>, which is the agents'.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class SentByAttribute(string role) : Attribute
{
    public string Role { get; } = role;
}

/// <summary>What an agent sends the control plane (role <see cref="Roles.Agent"/>): its agents' bus routes every such
/// message to <see cref="BusHeaders.ControlPlaneQueue"/>.</summary>
public interface IAgentReport : ICommand;

/// <summary>A work order the control plane sends the agents (to <see cref="BusHeaders.AgentsQueue"/>).</summary>
public interface IWorkOrder;

/// <summary>A fact an agent reports about the training run a work order gave it: accepted only with that order's
/// grant (<see cref="BusHeaders.Grant"/>).</summary>
public interface IRunFact : IAgentReport
{
    Guid RunId { get; }
}

/// <summary>A fact sent periodically under a fresh id each time (a heartbeat): its id means nothing, so the control plane
/// keeps no idempotency record of it; a repeat is harmless.</summary>
public interface IPeriodic : ICommand;

/// <summary>A fact reported about an endpoint whose work order the reporter holds (its grant), or — for what a serving
/// replica observes — by that endpoint's own replica token.</summary>
public interface IEndpointFact : IAgentReport
{
    string Endpoint { get; }
}

/// <summary>An <see cref="IEndpointFact"/> a serving replica observes itself: accepted with that endpoint's own replica
/// token (as well as from an agent holding the endpoint's grant).</summary>
public interface IReplicaFact : IEndpointFact;

/// <summary>Envelope headers that every publisher sets on bus messages.</summary>
public static class BusHeaders
{
    /// <summary>The sender's JWT bearer token; the control plane authenticates it and records
    /// its subject as the actor of every event the message causes.</summary>
    public const string Token = "emo-token";

    /// <summary>The grant of the work order a fact is about (<c>LaunchTraining.Grant</c>, <c>ApplyEndpoint.Grant</c>):
    /// issued by the control plane with the order, it proves the sender was given that work. Over HTTP:
    /// <see cref="GrantHttpHeader"/>.</summary>
    public const string Grant = "emo-grant";

    public const string GrantHttpHeader = "X-Emo-Grant";

    /// <summary>The contract type of a command sent by a MassTransit publisher (its full name, e.g.
    /// <c>EventMlOps.Contracts.Datasets.RegisterDataset</c>): MassTransit names the type only inside its JSON envelope,
    /// and the control plane must know it before reading the body. Wolverine publishers need not set it.</summary>
    public const string MessageType = "emo-message-type";

    /// <summary>The exchange that feeds <see cref="ControlPlaneQueue"/> on RabbitMQ: MassTransit publishers send to
    /// <c>exchange:emo-control-plane</c>.</summary>
    public const string ControlPlaneExchange = ControlPlaneQueue;

    /// <summary>The fanout exchange (RabbitMQ) or topic (Kafka) of integration events (<c>EventMlOps.Contracts.Integration</c>).</summary>
    public const string EventsExchange = "emo-events";

    /// <summary>Queue (or topic) the control plane listens on for commands and agents' facts.</summary>
    public const string ControlPlaneQueue = "emo-control-plane";

    /// <summary>Queue the agents listen on for work orders.</summary>
    public const string AgentsQueue = "emo-agents";
}

public static class Roles
{
    public const string Viewer = "viewer";
    public const string Scientist = "scientist";
    public const string Approver = "approver";
    public const string Operator = "operator";
    public const string Agent = "agent";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Scientist, Approver, Operator, Agent, Admin];

    /// <summary>The roles people hold: what the dashboard signs in (an agent's token stays with its process).</summary>
    public static readonly IReadOnlyList<string> People = [Viewer, Scientist, Approver, Operator, Admin];
}
