using EventMlOps.Contracts.Registry;

namespace EventMlOps.Contracts.Views;

public sealed record DatasetLineage(
    Guid DatasetId, string Name, string Uri, string Sha256, string Format, long RowCount, string RegisteredBy, DateTimeOffset RegisteredAt);

/// <summary>The run behind a version. <paramref name="ReproducedFrom"/>: the run it reproduces; <paramref name="Reproductions"/>:
/// the runs that reproduce it (<c>emo runs reproduce</c>).</summary>
public sealed record RunLineage(
    Guid RunId, string TrainerKind, RunStatus Status, IReadOnlyDictionary<string, double> Hyperparameters, string CodeVersion,
    IReadOnlyDictionary<string, double>? Metrics, double? DurationSeconds, string RequestedBy, DateTimeOffset RequestedAt, DriftTrigger? Trigger = null,
    Guid? ReproducedFrom = null, IReadOnlyList<Guid>? Reproductions = null, IReadOnlyDictionary<string, string>? Options = null);

public sealed record EndpointServing(string Endpoint, DateTimeOffset From, DateTimeOffset? To, int? Weight);

/// <summary>What produced a model version and where it served: dataset → run → version → endpoints, and the drift alarms
/// raised on it where it served (the most recent per endpoint).</summary>
public sealed record ModelLineage(
    string Model, int Version, ModelStage Stage, IReadOnlyList<string> Aliases, string ArtifactUri, string ArtifactSha256,
    string RegisteredBy, DateTimeOffset RegisteredAt, IReadOnlyList<Approval> Approvals, IReadOnlyList<StageChange> StageHistory,
    IReadOnlyList<AliasChange> AliasHistory, RunLineage? Run, DatasetLineage? Dataset, IReadOnlyList<EndpointServing> Endpoints, string? AsOf,
    IReadOnlyList<DriftAlarm>? DriftAlarms = null);

/// <summary>What an endpoint served (as of a point in time) and the lineage of each of those versions.</summary>
public sealed record EndpointLineage(
    string Endpoint, string Model, long Revision, IReadOnlyList<TrafficSplit> Traffic, RolloutInProgress? Rollout,
    IReadOnlyList<ModelLineage> Serving, string? AsOf);

public sealed record ImpactedVersion(string Model, int Version, Guid RunId, string Stage, IReadOnlyList<string> Endpoints);

/// <summary>Everything that descends from a dataset's content: runs, model versions and the endpoints that served them.</summary>
public sealed record DatasetImpact(
    string Sha256, IReadOnlyList<Guid> Datasets, IReadOnlyList<Guid> Runs, IReadOnlyList<ImpactedVersion> Versions, IReadOnlyList<string> Endpoints);
