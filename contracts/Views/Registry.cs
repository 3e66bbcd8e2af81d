using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Registry;

namespace EventMlOps.Contracts.Views;

public sealed record Approval(string By, string? Comment, DateTimeOffset At);

public sealed record StageChange(ModelStage From, ModelStage To, string By, DateTimeOffset At);

public sealed record AliasChange(string Alias, bool Set, string By, DateTimeOffset At);

/// <summary>One version of a registered model (<c>GET /api/models/{name}/versions/{version}</c>); <paramref name="Id"/> is its
/// stream, <paramref name="StreamVersion"/> that stream's version. <paramref name="IsApproved"/>: by someone other than its
/// authors (four eyes).</summary>
public sealed record ModelVersionView(
    string Id,
    string ModelName,
    int Version,
    Guid RunId,
    string ArtifactUri,
    string ArtifactSha256,
    Guid DatasetId,
    string DatasetSha256,
    IReadOnlyDictionary<string, double> Metrics,
    string RegisteredBy,
    DateTimeOffset RegisteredAt,
    ModelStage Stage,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<Approval> Approvals,
    IReadOnlyList<StageChange> StageHistory,
    IReadOnlyList<AliasChange> AliasHistory,
    string? RunRequestedBy,
    string? TrainerKind,
    bool IsApproved,
    long StreamVersion);

public sealed record VersionSummary(
    int Version, ModelStage Stage, IReadOnlyList<string> Aliases, bool Approved, string RegisteredBy, DateTimeOffset RegisteredAt,
    IReadOnlyDictionary<string, double> Metrics);

/// <summary>A registered model: its versions, which alias names which version, and what is in each stage.</summary>
public sealed record RegisteredModel(
    string Name, int LatestVersion, IReadOnlyDictionary<string, int> Aliases, IReadOnlyList<VersionSummary> Versions, string? AsOf);

/// <summary>Where one drift alarm's retraining stands: <paramref name="State"/> is one of <see cref="RetrainingStates"/>;
/// <paramref name="Detail"/> says why it stopped or what it waits for.</summary>
public sealed record RetrainingLoopView(
    Guid AlarmId, string Endpoint, int DriftingVersion, DateTimeOffset At, string State, string? Detail, Guid? RunId, RunStatus? RunStatus,
    int? Version, Guid? RolloutId);

public static class RetrainingStates
{
    public const string NotStarted = "not started", RunRequested = "run requested", RunFailed = "run failed", RunSucceeded = "run succeeded",
        Blocked = "version blocked", WaitingForApproval = "waiting for approval", Approved = "approved", RolloutNotStarted = "rollout not started",
        RolloutStarted = "rollout started", Promoted = "promoted", RolloutEnded = "rollout ended";
}

/// <summary>A model's policies (<c>GET /api/models/{name}/policy</c>; the defaults, with no <paramref name="SetBy"/>, until
/// one is set) and its most recent retraining loops, newest first. <paramref name="StreamVersion"/> is what a caller passes as
/// <c>expectedVersion</c> to change the policy only if nothing changed since (0: none set).</summary>
public sealed record ModelPolicyView(
    string ModelName, DriftPolicy Drift, RetrainingPolicy? Retraining, string? SetBy, DateTimeOffset? SetAt, IReadOnlyList<RetrainingLoopView> Loops,
    long StreamVersion = 0);
