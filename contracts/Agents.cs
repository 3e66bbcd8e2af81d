namespace EventMlOps.Contracts.Agents;

/// <summary>An agent host's beat (every <c>Agents:HeartbeatSeconds</c>): alive, on which runtimes, with how many jobs and
/// endpoints in its care. Its name is its token's, never a claim of the message; a beat overwrites a liveness document
/// and appends no event.</summary>
public sealed record AgentHeartbeat(Guid CommandId, string JobRuntime, string ServingRuntime, int Jobs, int Endpoints) : IAgentReport, IPeriodic;
