namespace EventMlOps.Contracts.Views;

/// <summary>An agent host as its last beat left it; <paramref name="Alive"/> while that beat is recent (within
/// <paramref name="StaleAfterSeconds"/>).</summary>
public sealed record AgentView(string Name, string JobRuntime, string ServingRuntime, int Jobs, int Endpoints, DateTimeOffset LastBeatAt, bool Alive,
    int StaleAfterSeconds);
