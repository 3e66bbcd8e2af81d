using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Training;

/// <summary>A <see cref="StopTraining"/> work order (the control plane has recorded the cancellation): the job and its
/// process tree are stopped, and the runtime keeps it cancelled — also one not submitted yet, so that a late
/// LaunchTraining starts nothing and nothing more is reported.</summary>
public static class StopTrainingHandler
{
    public static Task Handle(StopTraining order, IWorkloadRuntime runtime, CancellationToken ct) =>
        runtime.CancelAsync(TrainingRuns.JobName(order.RunId), ct);
}
