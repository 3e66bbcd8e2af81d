using System.Globalization;

namespace EventMlOps.Contracts.Endpoints;

/// <summary>Creates an endpoint for a registered model. A rollout needs a version approved by someone other than its
/// authors (four eyes) unless <paramref name="AllowUnapproved"/> relaxes that — for non-production endpoints, and
/// recorded with the endpoint.</summary>
[SentBy(Roles.Operator)]
public sealed record CreateEndpoint(Guid CommandId, string Name, string ModelName, int MinReplicas = 1, int MaxReplicas = 1,
    bool AllowUnapproved = false) : ICommand;

public enum RolloutKind { Immediate, Canary }

/// <summary>One canary step: the canary's traffic weight (percent) held for the bake time.</summary>
public sealed record CanaryStep(int Weight, int BakeSeconds);

/// <summary>How a canary is judged. Every <paramref name="IntervalSeconds"/> the rollout agent reports the canary's and the
/// stable version's requests, server errors (5xx) and p95 latency since the step began, measured by the serving process;
/// the control plane decides on each report. No verdict before the canary has <paramref name="MinRequests"/> requests in
/// the step. A breach — error rate above <paramref name="MaxErrorRate"/>, p95 above <paramref name="MaxP95Ms"/> (when
/// given), or p95 above <paramref name="MaxP95Ratio"/> × the stable version's p95 (taken as at least
/// <see cref="P95FloorMs"/>) — rolls the canary back at once; a healthy step advances once its bake time has passed.</summary>
/// <paramref name="ProgressDeadline"/>: measurements in a row of one step without <paramref name="MinRequests"/> canary requests
/// after which the canary is rolled back as stalled (it cannot be judged); 0 or none (analyses recorded before it existed)
/// waits for traffic forever. <see cref="Default"/> has 120.
public sealed record RolloutAnalysis(int IntervalSeconds = 5, int MinRequests = 50, double MaxErrorRate = 0.05, double? MaxP95Ms = null,
    double MaxP95Ratio = 2.0, int? ProgressDeadline = null)
{
    /// <summary>Below this, latencies are noise of the histogram's resolution, not a regression.</summary>
    public const double P95FloorMs = 5;

    public static readonly RolloutAnalysis Default = new(ProgressDeadline: 120);
}

/// <summary>How numbers read in the canary verdicts the control plane records, and in clients beside them: "3.1", "2", "31.0 %".</summary>
public static class VerdictFormat
{
    public static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Percent(double fraction) => (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";
}

public sealed record RolloutStrategy(RolloutKind Kind, IReadOnlyList<CanaryStep> Steps, RolloutAnalysis? Analysis = null)
{
    public static readonly RolloutStrategy Immediate = new(RolloutKind.Immediate, []);
}

/// <summary>Rolls <paramref name="Version"/> of the endpoint's model out. <paramref name="ExpectedVersion"/>,
/// when given, is the endpoint stream version the caller saw (optimistic concurrency).</summary>
[SentBy(Roles.Operator)]
public sealed record RollOut(Guid CommandId, string Endpoint, int Version, RolloutStrategy Strategy, long? ExpectedVersion = null) : ICommand;

/// <summary>Moves an in-flight canary to its next step at once, without waiting for its analysis: an operator's override
/// (the analysis itself advances a healthy, baked step).</summary>
[SentBy(Roles.Operator)]
public sealed record AdvanceRollout(Guid CommandId, string Endpoint, Guid RolloutId) : ICommand;

[SentBy(Roles.Operator)]
public sealed record PromoteRollout(Guid CommandId, string Endpoint) : ICommand;

[SentBy(Roles.Operator)]
public sealed record AbortRollout(Guid CommandId, string Endpoint, string Reason) : ICommand;

/// <summary>Deletes the endpoint: its serving processes are stopped; its history stays (lineage, audit, as-of queries).
/// The name may be created again later.</summary>
[SentBy(Roles.Operator)]
public sealed record DeleteEndpoint(Guid CommandId, string Name, string Reason) : ICommand;

/// <summary>Returns the endpoint to the version that served before the current one.</summary>
[SentBy(Roles.Operator)]
public sealed record Rollback(Guid CommandId, string Endpoint, string Reason) : ICommand;

// Facts the rollout/serving agents report.

public sealed record VersionMetrics(long Requests, long Errors, double P95Ms);

/// <summary>The canary's and the stable version's metrics since <paramref name="Step"/> began, as measured by the
/// endpoint's serving process; the control plane judges them (see <see cref="RolloutAnalysis"/>).</summary>
public sealed record RolloutStepReport(
    Guid CommandId,
    string Endpoint,
    Guid RolloutId,
    int Step,
    VersionMetrics Canary,
    VersionMetrics Stable) : IEndpointFact;

/// <summary>A version a serving process has loaded (sha256 verified) and the traffic weight it applies.</summary>
public sealed record LoadedVersion(int Version, string Sha256, int Weight);

/// <summary>What a serving process runs: the desired revision it converged to (or is converging to), whether it is
/// ready, what it loaded, and load errors in <see cref="Message"/>.</summary>
public sealed record EndpointStatusReport(
    Guid CommandId, string Endpoint, long Revision, bool Ready, string? Message = null, IReadOnlyList<LoadedVersion>? Loaded = null) : IReplicaFact;

/// <summary><c>Waiting</c>: the runtime cannot start the replica yet and says why (no node fits it, its image cannot be
/// pulled); it is tried again by the runtime.</summary>
public enum ReplicaChange { Started, Restarted, Stopped, Waiting }

/// <summary>A serving process (replica) of an endpoint that the serving runtime started, restarted after it died
/// (<paramref name="Reason"/>, <paramref name="ExitCode"/> say why), stopped, or cannot start yet (waiting, and why).
/// A reason holds at most <see cref="MaxReasonLength"/> characters.</summary>
/// <param name="Replica">The runtime's deterministic name for it (e.g. <c>serve-recommender</c>).</param>
/// <param name="Url">Where it answers (<c>http://127.0.0.1:port</c> locally).</param>
public sealed record ReplicaChangeReport(
    Guid CommandId, string Endpoint, string Replica, ReplicaChange Change, string Runtime, string? Url, string? Reason = null, int? ExitCode = null) : IEndpointFact
{
    public const int MaxReasonLength = 1000;
}

// Work orders for the rollout agent: the endpoint's full desired state at a revision.

/// <summary>A version to serve. <paramref name="Baseline"/>: its training run's <c>baseline.json</c> (distributions of the
/// training inputs and outputs), for the drift agent; absent for versions whose run wrote none.</summary>
public sealed record ServedVersion(string ModelName, int Version, string ArtifactUri, string ArtifactSha256, int Weight, Artifacts.ArtifactRef? Baseline = null);

/// <summary>The canary being analysed: which version against which, at which step (and its bake time), under which limits.</summary>
public sealed record CanaryAnalysisOrder(Guid RolloutId, int Step, int CanaryVersion, int StableVersion, CanaryStep Current, RolloutAnalysis Analysis);

/// <summary>The endpoint's whole desired state. <paramref name="Canary"/> is set while a canary is in progress;
/// <paramref name="Deleted"/> (with no versions) once the endpoint was deleted: its replicas are to be stopped. A version
/// with weight 0 is a fallback: the last version known to load, served only if the weighted ones cannot be.
/// <paramref name="Grant"/> (work orders only, never in the replicas' long poll) lets the agent that received the order
/// report facts about this endpoint and obtain its replicas' tokens. <paramref name="Drift"/>: the model's drift policy
/// (the drift agent measures the versions that have a baseline; absent: the defaults).</summary>
public sealed record ApplyEndpoint(
    string Endpoint, long Revision, IReadOnlyList<ServedVersion> Versions, int MinReplicas, int MaxReplicas,
    CanaryAnalysisOrder? Canary = null, bool Deleted = false, string? Grant = null, Drift.DriftPolicy? Drift = null) : IWorkOrder;

/// <summary>A serving replica's token: it may read its endpoint's desired state and report what it observes, nothing
/// else; short-lived, renewed by the replica with the token it holds while the endpoint exists.</summary>
public sealed record ReplicaToken(string Token, DateTimeOffset ExpiresAt);
