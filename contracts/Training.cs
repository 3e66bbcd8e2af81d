using EventMlOps.Contracts.Artifacts;

namespace EventMlOps.Contracts.Training;

public sealed record TrainingResources(int Cpus = 1, int MemoryMb = 2048, int Gpus = 0);

/// <summary>Asks for a training run of <paramref name="TrainerKind"/> on a registered dataset, with numeric
/// <paramref name="Hyperparameters"/> and text <paramref name="Options"/> (lists, names, durations: <see cref="TrainerOption"/>).</summary>
[SentBy(Roles.Scientist)]
public sealed record RequestTraining(
    Guid CommandId,
    Guid RunId,
    string ModelName,
    string TrainerKind,
    Guid DatasetId,
    IReadOnlyDictionary<string, double> Hyperparameters,
    TrainingResources Resources,
    string CodeVersion,
    IReadOnlyDictionary<string, string>? Options = null) : ICommand;

/// <summary>Asks for a new run, <paramref name="RunId"/>, that repeats the succeeded run <paramref name="OriginalRunId"/>: the
/// same dataset (by its sha256), trainer, code version, hyperparameters, seed and resources, for the same model.</summary>
[SentBy(Roles.Scientist)]
public sealed record ReproduceRun(Guid CommandId, Guid RunId, Guid OriginalRunId) : ICommand;

[SentBy(Roles.Scientist)]
public sealed record CancelTraining(Guid CommandId, Guid RunId, string Reason) : ICommand;

// Facts a training agent reports about the physical job.

public sealed record JobSubmittedReport(Guid CommandId, Guid RunId, string JobName, string Runtime) : IRunFact;

public sealed record TrainingStartedReport(Guid CommandId, Guid RunId, DateTimeOffset StartedAt) : IRunFact;

public sealed record EpochReport(Guid CommandId, Guid RunId, int Epoch, IReadOnlyDictionary<string, double> Metrics) : IRunFact;

/// <summary>The run's model artifact, its final metrics and its other outputs by name (e.g. <c>baseline</c>, <c>log</c>).</summary>
public sealed record TrainingSucceededReport(
    Guid CommandId,
    Guid RunId,
    string ArtifactUri,
    string ArtifactSha256,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, ArtifactRef>? Outputs = null) : IRunFact;

public sealed record TrainingFailedReport(Guid CommandId, Guid RunId, string Reason, int? ExitCode = null) : IRunFact;

/// <summary>Why the run's unfinished job makes no progress, in plain words from its runtime (a cluster's pod reason:
/// <c>Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu</c>, <c>ImagePullBackOff</c>), or null once
/// that cleared. Sent when it changes; the same reason again records nothing.</summary>
public sealed record JobWaitingReport(Guid CommandId, Guid RunId, string? Reason) : IRunFact
{
    public const int MaxReasonLength = 1000;
}

/// <summary>The agent still watches the run's job (sent periodically while it runs).</summary>
public sealed record HeartbeatReport(Guid CommandId, Guid RunId, string JobName) : IRunFact, IPeriodic;

// Work orders for the training agent.

/// <summary>Runs a trainer. <paramref name="TrackingToken"/> is a run-scoped token the trainer uses for the
/// tracking API (it authorises logging to this run only); <paramref name="Grant"/> is what the agent attaches to every
/// fact it reports about this run (<see cref="BusHeaders.Grant"/>): without it the control plane accepts none.</summary>
public sealed record LaunchTraining(
    Guid RunId,
    string ModelName,
    string TrainerKind,
    string DatasetUri,
    string DatasetSha256,
    IReadOnlyDictionary<string, double> Hyperparameters,
    TrainingResources Resources,
    string CodeVersion,
    string? TrackingToken = null,
    string? Grant = null,
    IReadOnlyDictionary<string, string>? Options = null) : IWorkOrder;

public sealed record StopTraining(Guid RunId, string Reason) : IWorkOrder;

/// <summary>An agent that restarted asks for the work orders of what it still runs — unfinished runs and live endpoints —
/// to be sent again (to the agents' queue, never back to the sender): they carry fresh grants, and the agent keeps
/// none on disk.</summary>
public sealed record RequestWorkOrders(Guid CommandId, IReadOnlyList<Guid> Runs, IReadOnlyList<string> Endpoints) : IAgentReport;
