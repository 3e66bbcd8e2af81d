using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Contracts.Views;

public enum RunStatus { Requested, Submitted, Running, Succeeded, Failed, Cancelled }

/// <summary>One value the trainer tracked (an MLflow-shaped metric at a step; <paramref name="Timestamp"/> in Unix milliseconds).</summary>
public sealed record MetricPoint(
    string Key,
    [property: System.Text.Json.Serialization.JsonNumberHandling(System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)]
    double Value, // MLflow records NaN and ±Infinity as they were logged: "NaN", "Infinity", "-Infinity"
    long Step,
    long Timestamp);

/// <summary>A training run (<c>GET /api/runs</c>); <paramref name="Id"/> is its stream. <paramref name="Params"/>,
/// <paramref name="Tags"/> and <paramref name="MetricHistory"/> are what the trainer tracked. <paramref name="WaitingReason"/>:
/// why its unfinished job makes no progress, as its runtime says (null while all is well and once the run finished).
/// <paramref name="Trigger"/>: the drift alarm that requested it (a retraining policy), if one did. <paramref name="ReproducedFrom"/>:
/// the run it reproduces; <paramref name="Reproductions"/>: the runs that reproduce it.</summary>
public sealed record TrainingRunView(
    string Id,
    Guid RunId,
    string ModelName,
    string TrainerKind,
    Guid DatasetId,
    string DatasetSha256,
    IReadOnlyDictionary<string, double> Hyperparameters,
    TrainingResources Resources,
    string CodeVersion,
    string RequestedBy,
    DateTimeOffset RequestedAt,
    RunStatus Status,
    string? JobName,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int Epochs,
    IReadOnlyDictionary<string, double>? Metrics,
    string? ArtifactUri,
    string? ArtifactSha256,
    string? FailureReason,
    int? RegisteredVersion,
    IReadOnlyDictionary<string, ArtifactRef>? Outputs,
    DateTimeOffset? LastHeartbeatAt,
    string? RegistrationBlocked,
    IReadOnlyDictionary<string, string> Params,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<MetricPoint> MetricHistory,
    bool IsFinished,
    double? DurationSeconds,
    DateTimeOffset? StalledSince = null,
    string? WaitingReason = null,
    DriftTrigger? Trigger = null,
    Guid? ReproducedFrom = null,
    IReadOnlyList<Guid>? Reproductions = null,
    IReadOnlyDictionary<string, string>? Options = null);

/// <summary>A run as the run list shows it (<c>GET /api/runs</c>): its state without what the trainer tracked.
/// <paramref name="StalledSince"/>: its job's last beat, when it has not beaten for <c>Training:StallSeconds</c> since.
/// <paramref name="WaitingReason"/>: why its unfinished job makes no progress, as its runtime says (null while all is well).</summary>
public sealed record TrainingRunSummary(
    string Id,
    Guid RunId,
    string ModelName,
    string TrainerKind,
    RunStatus Status,
    string RequestedBy,
    DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int Epochs,
    IReadOnlyDictionary<string, double>? Metrics,
    int? RegisteredVersion,
    string? FailureReason,
    bool IsFinished,
    double? DurationSeconds,
    DateTimeOffset? StalledSince,
    string? WaitingReason = null);

/// <summary>Why a run was requested by a model's retraining policy: drift alarm <paramref name="AlarmId"/> on
/// <paramref name="Endpoint"/>, raised while it served <paramref name="DriftingVersion"/>.</summary>
public sealed record DriftTrigger(Guid AlarmId, string Endpoint, int DriftingVersion);
