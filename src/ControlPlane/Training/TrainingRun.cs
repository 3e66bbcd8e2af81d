using EventMlOps.Contracts;
using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.Training;

public sealed record TrainingRunRequested(
    Guid RunId,
    string ModelName,
    string TrainerKind,
    Guid DatasetId,
    string DatasetUri,
    string DatasetSha256,
    IReadOnlyDictionary<string, double> Hyperparameters,
    TrainingResources Resources,
    string CodeVersion,
    string RequestedBy,
    DateTimeOffset RequestedAt,
    DriftTrigger? Trigger = null,
    IReadOnlyDictionary<string, string>? Options = null);

public sealed record TrainingRunSubmitted(Guid RunId, string JobName, string Runtime, DateTimeOffset SubmittedAt);

public sealed record TrainingRunStarted(Guid RunId, DateTimeOffset StartedAt);

public sealed record TrainingEpochCompleted(Guid RunId, int Epoch, IReadOnlyDictionary<string, double> Metrics, DateTimeOffset CompletedAt);

public sealed record TrainingRunSucceeded(
    Guid RunId,
    string ArtifactUri,
    string ArtifactSha256,
    IReadOnlyDictionary<string, double> Metrics,
    DateTimeOffset SucceededAt,
    IReadOnlyDictionary<string, ArtifactRef>? Outputs = null);

/// <summary>No longer appended (a heartbeat is a <see cref="RunLiveness"/> document now); kept so that history written
/// before can still be read.</summary>
public sealed record TrainingRunHeartbeat(Guid RunId, string JobName, DateTimeOffset At);

/// <summary>The run's job has not beaten since <paramref name="LastBeatAt"/>: its agent or machine may be gone. The run
/// is not ended by it — an agent that comes back reports on; an operator may cancel it.</summary>
public sealed record TrainingRunStalled(Guid RunId, DateTimeOffset LastBeatAt, DateTimeOffset StalledAt);

/// <summary>Why the run's job makes no progress changed, as its agent reported it (a cluster's pod reason), or —
/// <paramref name="Reason"/> null — it cleared.</summary>
public sealed record TrainingJobWaitingChanged(Guid RunId, string? Reason, DateTimeOffset ObservedAt);

/// <summary>One tracking call (an MLflow-shaped log-batch, log-metric, log-parameter or set-tag): one event, however
/// many values it carried.</summary>
public sealed record TrainingRunLogged(
    Guid RunId,
    IReadOnlyList<MetricPoint> Metrics,
    IReadOnlyDictionary<string, string> Params,
    IReadOnlyDictionary<string, string> Tags,
    DateTimeOffset LoggedAt);

/// <summary>The registration policy declined to register the succeeded run, and why (e.g. a quality gate).</summary>
public sealed record TrainingRunRegistrationBlocked(Guid RunId, string ModelName, string Reason, DateTimeOffset At);

public sealed record TrainingRunFailed(Guid RunId, string Reason, int? ExitCode, DateTimeOffset FailedAt);

public sealed record TrainingRunCancelled(Guid RunId, string Reason, string CancelledBy, DateTimeOffset CancelledAt);

/// <summary>Recorded on the run when its artifact becomes a model version (a run registers once).</summary>
public sealed record TrainingRunRegistered(Guid RunId, string ModelName, int Version, DateTimeOffset RegisteredAt);

/// <summary>Run <paramref name="RunId"/> was requested to reproduce run <paramref name="OriginalRunId"/> (same dataset, trainer,
/// code, hyperparameters and seed): appended to both runs' streams, so each knows the other.</summary>
public sealed record RunReproduced(Guid RunId, Guid OriginalRunId, string ReproducedBy, DateTimeOffset ReproducedAt);

/// <summary>A run an MLflow client started from a person's script (<c>runs/create</c>): recorded in our model like any
/// run, with its experiment and the person's name, but no work order — nothing is launched. It is running until the
/// client ends it (<see cref="TrackedRunEnded"/>).</summary>
public sealed record TrackedRunStarted(Guid RunId, string ExperimentId, string ExperimentName, string StartedBy, DateTimeOffset StartedAt,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>The MLflow client ended its run: FINISHED (<see cref="RunStatus.Succeeded"/>), FAILED or KILLED (<see cref="RunStatus.Cancelled"/>).</summary>
public sealed record TrackedRunEnded(Guid RunId, RunStatus Status, string EndedBy, DateTimeOffset EndedAt);

/// <summary>MLflow's soft delete and restore of a run (<paramref name="Stage"/> <c>deleted</c> or <c>active</c>): hidden from
/// searches, never erased.</summary>
public sealed record RunLifecycleChanged(Guid RunId, string Stage, string ChangedBy, DateTimeOffset ChangedAt);

/// <summary>A file an MLflow client uploaded to the run's artifacts (<paramref name="Path"/> within them), as the
/// control plane stored it.</summary>
public sealed record RunArtifactLogged(Guid RunId, string Path, ArtifactRef Artifact, string LoggedBy, DateTimeOffset LoggedAt);

/// <summary>A dataset an MLflow client said the run used (<c>runs/log-inputs</c>): its name, digest and source as the client
/// gave them, and — when its digest is the sha256 of a dataset registered here, or its source that dataset's URI — the
/// registered dataset it is.</summary>
public sealed record RunInput(string Name, string Digest, string SourceType, string Source, string? Context, Guid? DatasetId, string? DatasetSha256);

/// <summary>The datasets an MLflow client logged as the run's inputs; a run without a dataset takes the first registered
/// training input (context <c>training</c>, or none given) as its dataset, so lineage and impact queries find it.</summary>
public sealed record RunInputsLogged(Guid RunId, IReadOnlyList<RunInput> Inputs, string LoggedBy, DateTimeOffset LoggedAt);

public sealed record RunTagDeleted(Guid RunId, string Key, string DeletedBy, DateTimeOffset DeletedAt);

/// <summary>A training run (stream <c>run:{id}</c>).</summary>
public sealed record TrainingRun(
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
    string? JobName = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? FinishedAt = null,
    int Epochs = 0,
    IReadOnlyDictionary<string, double>? Metrics = null,
    string? ArtifactUri = null,
    string? ArtifactSha256 = null,
    string? FailureReason = null,
    int? RegisteredVersion = null,
    IReadOnlyDictionary<string, ArtifactRef>? Outputs = null,
    string? RegistrationBlocked = null,
    DateTimeOffset? StalledSince = null,
    string? WaitingReason = null,
    DriftTrigger? Trigger = null,
    Guid? ReproducedFrom = null,
    IReadOnlyList<Guid>? Reproductions = null,
    IReadOnlyDictionary<string, string>? Options = null,
    string? ExperimentId = null,
    string? LifecycleStage = null)
{
    /// <summary>The trainer kind of runs an MLflow client started (<see cref="TrackedRunStarted"/>).</summary>
    public const string Tracked = "mlflow";

    public bool IsFinished => Status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;

    public double? DurationSeconds => StartedAt is { } s && FinishedAt is { } f ? (f - s).TotalSeconds : null;

    public static TrainingRun Create(TrainingRunRequested e) => new(
        StreamKeys.Run(e.RunId), e.RunId, e.ModelName, e.TrainerKind, e.DatasetId, e.DatasetSha256, e.Hyperparameters,
        e.Resources, e.CodeVersion, e.RequestedBy, e.RequestedAt, RunStatus.Requested, Trigger: e.Trigger, Options: e.Options);

    public static TrainingRun Create(TrackedRunStarted e) => new(
        StreamKeys.Run(e.RunId), e.RunId, e.ExperimentName, Tracked, Guid.Empty, "", new Dictionary<string, double>(), new TrainingResources(0, 0),
        e.Tags.GetValueOrDefault("mlflow.source.git.commit") ?? "", e.StartedBy, e.StartedAt, RunStatus.Running, StartedAt: e.StartedAt,
        ExperimentId: e.ExperimentId);

    public TrainingRun Apply(TrackedRunEnded e) => this with { Status = e.Status, FinishedAt = e.EndedAt };

    public TrainingRun Apply(RunLifecycleChanged e) => this with { LifecycleStage = e.Stage };

    public TrainingRun Apply(RunInputsLogged e) =>
        DatasetId != Guid.Empty || e.Inputs.FirstOrDefault(i => i.DatasetId is not null && i.Context is null or "training") is not { } input
            ? this
            : this with { DatasetId = input.DatasetId!.Value, DatasetSha256 = input.DatasetSha256! };

    public TrainingRun Apply(TrainingRunSubmitted e) => this with { Status = RunStatus.Submitted, JobName = e.JobName };

    public TrainingRun Apply(TrainingRunStarted e) => this with { Status = RunStatus.Running, StartedAt = e.StartedAt };

    public TrainingRun Apply(TrainingEpochCompleted e) =>
        this with { Status = RunStatus.Running, StartedAt = StartedAt ?? e.CompletedAt, Epochs = e.Epoch, Metrics = e.Metrics, StalledSince = null };

    public TrainingRun Apply(TrainingRunStalled e) => this with { StalledSince = e.LastBeatAt };

    public TrainingRun Apply(TrainingJobWaitingChanged e) => this with { WaitingReason = e.Reason };

    public TrainingRun Apply(TrainingRunSucceeded e) => this with
    {
        Status = RunStatus.Succeeded, FinishedAt = e.SucceededAt, ArtifactUri = e.ArtifactUri, ArtifactSha256 = e.ArtifactSha256, Metrics = e.Metrics,
        Outputs = e.Outputs,
    };

    public TrainingRun Apply(TrainingRunFailed e) => this with { Status = RunStatus.Failed, FinishedAt = e.FailedAt, FailureReason = e.Reason };

    public TrainingRun Apply(TrainingRunCancelled e) => this with { Status = RunStatus.Cancelled, FinishedAt = e.CancelledAt, FailureReason = e.Reason };

    public TrainingRun Apply(TrainingRunRegistered e) => this with { RegisteredVersion = e.Version };

    public TrainingRun Apply(TrainingRunRegistrationBlocked e) => this with { RegistrationBlocked = e.Reason };

    public TrainingRun Apply(RunReproduced e) =>
        e.RunId == RunId ? this with { ReproducedFrom = e.OriginalRunId } : this with { Reproductions = [.. Reproductions ?? [], e.RunId] };

    /// <summary>The whole run: its state, what the trainer tracked, and (for the present, not a past moment) its last beat.</summary>
    public TrainingRunView ToView(RunTracking? tracking, RunLiveness? liveness) => new(
        Id, RunId, ModelName, TrainerKind, DatasetId, DatasetSha256, Hyperparameters, Resources, CodeVersion, RequestedBy, RequestedAt, Status,
        JobName, StartedAt, FinishedAt, Epochs, Metrics, ArtifactUri, ArtifactSha256, FailureReason, RegisteredVersion, Outputs,
        liveness?.LastBeatAt, RegistrationBlocked, tracking?.Params ?? new Dictionary<string, string>(), tracking?.Tags ?? new Dictionary<string, string>(),
        tracking?.MetricHistory ?? [], IsFinished, DurationSeconds, StillStalled(liveness), StillWaiting, Trigger, ReproducedFrom, Reproductions ?? [], Options);

    /// <summary>A row of the run list: no tracked history.</summary>
    public TrainingRunSummary ToSummary(RunLiveness? liveness) => new(
        Id, RunId, ModelName, TrainerKind, Status, RequestedBy, RequestedAt, StartedAt, FinishedAt, Epochs, Metrics, RegisteredVersion, FailureReason,
        IsFinished, DurationSeconds, StillStalled(liveness), StillWaiting);

    /// <summary>A finished run's job waits for nothing, whatever was reported last.</summary>
    private string? StillWaiting => IsFinished ? null : WaitingReason;

    /// <summary>The stall as recorded, unless the job has beaten since (it came back without a new epoch yet).</summary>
    private DateTimeOffset? StillStalled(RunLiveness? liveness) =>
        StalledSince is { } since && (liveness is null || liveness.LastBeatAt <= since) ? since : null;
}
