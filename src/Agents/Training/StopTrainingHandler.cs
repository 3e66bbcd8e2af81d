using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Training;

/// <summary>A <see cref="StopTraining"/> work order (the control plane has recorded the cancellation): remember it, so
/// that nothing more is reported and a late LaunchTraining starts nothing, then stop the job and its process tree (the
/// runtime keeps it cancelled).</summary>
public static class StopTrainingHandler
{
    public static Task Handle(StopTraining order, IWorkloadRuntime runtime, TrainingRuns runs, CancellationToken ct)
    {
        runs.Cancel(order.RunId);
        return runtime.CancelAsync(TrainingRuns.JobName(order.RunId), ct);
    }
}
