using EventMlOps.Contracts.Training;
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
    DateTimeOffset RequestedAt);

public sealed record TrainingRunSubmitted(Guid RunId, string JobName, string Runtime, DateTimeOffset SubmittedAt);

public sealed record TrainingRunStarted(Guid RunId, DateTimeOffset StartedAt);

public sealed record TrainingEpochCompleted(Guid RunId, int Epoch, IReadOnlyDictionary<string, double> Metrics, DateTimeOffset CompletedAt);

public sealed record TrainingRunSucceeded(Guid RunId, string ArtifactUri, string ArtifactSha256, IReadOnlyDictionary<string, double> Metrics, DateTimeOffset SucceededAt);

public sealed record TrainingRunFailed(Guid RunId, string Reason, int? ExitCode, DateTimeOffset FailedAt);

public sealed record TrainingRunCancelled(Guid RunId, string Reason, string CancelledBy, DateTimeOffset CancelledAt);

/// <summary>Recorded on the run when its artifact becomes a model version (a run registers once).</summary>
public sealed record TrainingRunRegistered(Guid RunId, string ModelName, int Version, DateTimeOffset RegisteredAt);

public enum RunStatus { Requested, Submitted, Running, Succeeded, Failed, Cancelled }

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
    int? RegisteredVersion = null)
{
    public bool IsFinished => Status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;

    public double? DurationSeconds => StartedAt is { } s && FinishedAt is { } f ? (f - s).TotalSeconds : null;

    public static TrainingRun Create(TrainingRunRequested e) => new(
        StreamKeys.Run(e.RunId), e.RunId, e.ModelName, e.TrainerKind, e.DatasetId, e.DatasetSha256, e.Hyperparameters,
        e.Resources, e.CodeVersion, e.RequestedBy, e.RequestedAt, RunStatus.Requested);

    public TrainingRun Apply(TrainingRunSubmitted e) => this with { Status = RunStatus.Submitted, JobName = e.JobName };

    public TrainingRun Apply(TrainingRunStarted e) => this with { Status = RunStatus.Running, StartedAt = e.StartedAt };

    public TrainingRun Apply(TrainingEpochCompleted e) => this with { Status = RunStatus.Running, StartedAt = StartedAt ?? e.CompletedAt, Epochs = e.Epoch, Metrics = e.Metrics };

    public TrainingRun Apply(TrainingRunSucceeded e) => this with
    {
        Status = RunStatus.Succeeded, FinishedAt = e.SucceededAt, ArtifactUri = e.ArtifactUri, ArtifactSha256 = e.ArtifactSha256, Metrics = e.Metrics,
    };

    public TrainingRun Apply(TrainingRunFailed e) => this with { Status = RunStatus.Failed, FinishedAt = e.FailedAt, FailureReason = e.Reason };

    public TrainingRun Apply(TrainingRunCancelled e) => this with { Status = RunStatus.Cancelled, FinishedAt = e.CancelledAt, FailureReason = e.Reason };

    public TrainingRun Apply(TrainingRunRegistered e) => this with { RegisteredVersion = e.Version };
}
