namespace EventMlOps.Contracts;

/// <summary>Every command sent to the control plane carries a client-chosen id: a retried or
/// duplicated delivery of the same id appends nothing new.</summary>
public interface ICommand
{
    Guid CommandId { get; }
}

/// <summary>Envelope headers that every publisher sets on bus messages.</summary>
public static class BusHeaders
{
    /// <summary>The sender's JWT bearer token; the control plane authenticates it and records
    /// its subject as the actor of every event the message causes.</summary>
    public const string Token = "emo-token";

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
}
