using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Contracts.Views;

/// <summary>A version taking a share of an endpoint's traffic.</summary>
public sealed record TrafficSplit(int Version, string ArtifactUri, string ArtifactSha256, int Weight);

/// <summary>The rollout in flight; a canary's current step began at <paramref name="StepStartedAt"/> and is judged under
/// <paramref name="Analysis"/> (null for an immediate rollout). From <paramref name="Revision"/> on, the replicas' reports
/// tell whether the version loads; <paramref name="Previous"/> is the traffic that serves again if the rollout ends
/// unpromoted.</summary>
public sealed record RolloutInProgress(
    Guid RolloutId, int Version, string ArtifactUri, string ArtifactSha256, RolloutKind Kind, IReadOnlyList<CanaryStep> Steps, int Step,
    string StartedBy, DateTimeOffset StartedAt, DateTimeOffset StepStartedAt, RolloutAnalysis? Analysis, long Revision = 0,
    IReadOnlyList<TrafficSplit>? Previous = null);

/// <summary>When a version served on this endpoint (To is null while it still serves).</summary>
public sealed record ServingPeriod(int Version, DateTimeOffset From, DateTimeOffset? To);

/// <summary>A serving process as its runtime last reported it; <paramref name="Restarts"/> counts restarts since it was started.</summary>
public sealed record ReplicaState(
    string Name, string Runtime, string? Url, int Restarts, ReplicaChange LastChange, string? LastReason, int? LastExitCode, DateTimeOffset ChangedAt);

public sealed record RolloutOutcome(
    Guid RolloutId, int Version, RolloutKind Kind, string Outcome, string By, DateTimeOffset StartedAt, DateTimeOffset EndedAt, string? Reason);

/// <summary>The control plane's verdict on one measurement of a canary step, with the numbers it was taken on
/// (<see cref="VerdictFormat"/> writes the numbers in <paramref name="Detail"/>).</summary>
public sealed record AnalysisRecord(
    string Endpoint, Guid RolloutId, int Step, VersionMetrics Canary, VersionMetrics Stable, string Verdict, string? Detail, DateTimeOffset ObservedAt);

/// <summary>An endpoint (<c>GET /api/endpoints/{name}</c>): the traffic it is to serve at <paramref name="Revision"/>, the
/// rollout in flight, what its replicas report (<paramref name="Ready"/>, <c>Observed…</c>, <paramref name="Replicas"/>),
/// and its history. <paramref name="StreamVersion"/> is what a caller passes as <c>expectedVersion</c>;
/// <paramref name="StableVersion"/> is what a canary is judged against; <paramref name="LastGood"/> the last version a
/// replica loaded, every replica's fallback. <paramref name="Drift"/>: the last judged drift window and the open drift alarms
/// (the history: <c>GET /api/endpoints/{name}/drift</c>). A deleted endpoint stays listed (<paramref name="Deleted"/>, its history).</summary>
public sealed record EndpointView(
    string Id,
    string Name,
    string ModelName,
    int MinReplicas,
    int MaxReplicas,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    long Revision,
    IReadOnlyList<TrafficSplit> Traffic,
    RolloutInProgress? Rollout,
    IReadOnlyList<ServingPeriod> Served,
    IReadOnlyList<RolloutOutcome> Rollouts,
    bool? Ready,
    long ObservedRevision,
    string? ObservedMessage,
    IReadOnlyList<LoadedVersion>? ObservedLoaded,
    DriftStatus? Drift,
    IReadOnlyList<AnalysisRecord>? RecentAnalysis,
    IReadOnlyList<ReplicaState>? Replicas,
    DateTimeOffset? DeletedAt,
    bool AllowUnapproved,
    TrafficSplit? LastGood,
    long StreamVersion,
    bool Deleted,
    int? StableVersion,
    int? AnalysisRecordsLeftOut = null);

/// <summary>An endpoint as the endpoint list shows it (<c>GET /api/endpoints</c>): what it serves now and whether its
/// replicas keep up and how many drift alarms are open, without its serving history, past rollouts or analysis.</summary>
public sealed record EndpointSummary(
    string Name,
    string ModelName,
    int MinReplicas,
    int MaxReplicas,
    long Revision,
    IReadOnlyList<TrafficSplit> Traffic,
    RolloutInProgress? Rollout,
    bool? Ready,
    long ObservedRevision,
    bool Deleted,
    DateTimeOffset? DeletedAt,
    int OpenDriftAlarms = 0);

/// <summary>An endpoint's history read from its events (<c>GET /api/endpoints/{name}/timeline</c>): the traffic split after
/// each change of it, the rollouts' marks with their reasons, each canary's analysis against its limits and the replicas'
/// changes — each list oldest first, at most the <c>limit</c> most recent entries; as of a point in history when
/// <paramref name="AsOf"/> is set.</summary>
public sealed record EndpointTimeline(
    string Endpoint, string ModelName, IReadOnlyList<TrafficPoint> Traffic, IReadOnlyList<RolloutMark> Marks, IReadOnlyList<CanarySeries> Canaries,
    IReadOnlyList<ReplicaMark> Replicas, string? AsOf);

public sealed record VersionWeight(int Version, int Weight);

/// <summary>The traffic split from event <paramref name="Sequence"/> on (at <paramref name="At"/>) until the next point.</summary>
public sealed record TrafficPoint(long Sequence, DateTimeOffset At, IReadOnlyList<VersionWeight> Weights);

/// <summary>One mark of an endpoint's history: <paramref name="Mark"/> is one of <see cref="RolloutMarks"/>.</summary>
public sealed record RolloutMark(long Sequence, DateTimeOffset At, string Mark, int? Version, string? By, string? Reason);

public static class RolloutMarks
{
    public const string Created = "created", Started = "rollout started", Advanced = "step advanced", Promoted = "promoted", Aborted = "aborted",
        CanaryRolledBack = "canary rolled back", Failed = "failed to load", RolledBack = "rolled back", Deleted = "deleted";
}

/// <summary>A canary's analysis: its steps and the limits it was judged under, and the verdicts recorded on it.</summary>
public sealed record CanarySeries(
    Guid RolloutId, int Version, int? StableVersion, IReadOnlyList<CanaryStep> Steps, RolloutAnalysis Analysis, DateTimeOffset StartedAt,
    IReadOnlyList<AnalysisRecord> Points);

public sealed record ReplicaMark(long Sequence, DateTimeOffset At, string Replica, ReplicaChange Change, int? ExitCode, string? Reason);
