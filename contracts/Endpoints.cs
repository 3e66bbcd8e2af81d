namespace EventMlOps.Contracts.Endpoints;

public sealed record CreateEndpoint(Guid CommandId, string Name, string ModelName, int MinReplicas = 1, int MaxReplicas = 1) : ICommand;

public enum RolloutKind { Immediate, Canary }

/// <summary>One canary step: the canary's traffic weight (percent) held for the bake time.</summary>
public sealed record CanaryStep(int Weight, int BakeSeconds);

public sealed record RolloutStrategy(RolloutKind Kind, IReadOnlyList<CanaryStep> Steps)
{
    public static readonly RolloutStrategy Immediate = new(RolloutKind.Immediate, []);
}

/// <summary>Rolls <paramref name="Version"/> of the endpoint's model out. <paramref name="ExpectedVersion"/>,
/// when given, is the endpoint stream version the caller saw (optimistic concurrency).</summary>
public sealed record RollOut(Guid CommandId, string Endpoint, int Version, RolloutStrategy Strategy, long? ExpectedVersion = null) : ICommand;

/// <summary>Moves an in-flight canary to its next step (sent by the rollout agent after a healthy bake).</summary>
public sealed record AdvanceRollout(Guid CommandId, string Endpoint, Guid RolloutId) : ICommand;

public sealed record PromoteRollout(Guid CommandId, string Endpoint) : ICommand;

public sealed record AbortRollout(Guid CommandId, string Endpoint, string Reason) : ICommand;

/// <summary>Returns the endpoint to the version that served before the current one.</summary>
public sealed record Rollback(Guid CommandId, string Endpoint, string Reason) : ICommand;

// Facts the rollout/serving agents report.

public sealed record VersionMetrics(long Requests, long Errors, double P95Ms);

public sealed record RolloutStepObserved(
    Guid CommandId,
    string Endpoint,
    Guid RolloutId,
    int Step,
    VersionMetrics Canary,
    VersionMetrics Stable) : ICommand;

/// <summary>A version a serving process has loaded (sha256 verified) and the traffic weight it applies.</summary>
public sealed record LoadedVersion(int Version, string Sha256, int Weight);

/// <summary>What a serving process runs: the desired revision it converged to (or is converging to), whether it is
/// ready, what it loaded, and load errors in <see cref="Message"/>.</summary>
public sealed record EndpointObserved(
    Guid CommandId, string Endpoint, long Revision, bool Ready, string? Message = null, IReadOnlyList<LoadedVersion>? Loaded = null) : ICommand;

// Work orders for the rollout agent: the endpoint's full desired state at a revision.

public sealed record ServedVersion(string ModelName, int Version, string ArtifactUri, string ArtifactSha256, int Weight);

public sealed record ApplyEndpoint(string Endpoint, long Revision, IReadOnlyList<ServedVersion> Versions, int MinReplicas, int MaxReplicas);
