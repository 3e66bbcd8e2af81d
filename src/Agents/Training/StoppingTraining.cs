using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Training;

/// <summary>A <see cref="StopTraining"/> work order (the control plane has recorded the cancellation): remember it, so
/// that nothing more is reported and a late LaunchTraining starts nothing, then stop the job and its process tree.</summary>
public static class StopTrainingHandler
{
    public static Task Handle(StopTraining order, IWorkloadRuntime runtime, TrainingWorkspace workspace, CancellationToken ct)
    {
        workspace.MarkCancelled(order.RunId, string.IsNullOrWhiteSpace(order.Reason) ? "cancelled" : order.Reason);
        return runtime.CancelAsync(TrainingWorkspace.JobName(order.RunId), ct);
    }
}
