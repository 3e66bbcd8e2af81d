using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Runtime;
using EventMlOps.Artifacts;
using EventMlOps.Contracts.Training;
using Wolverine;

namespace EventMlOps.Agents.Training;

/// <summary>A <see cref="LaunchTraining"/> work order: reconcile the run's job (<see cref="TrainingPlan"/>) — submit it
/// when it does not exist (never twice: the name is deterministic), follow it when it does. A work order that cannot
/// run (dataset sha256 mismatch, bad generator URI, no trainer) is answered with the run's failure.</summary>
public static class LaunchTrainingHandler
{
    public static async Task<OutgoingMessages> Handle(LaunchTraining order, IWorkloadRuntime runtime, TrainingWorkspace workspace,
        TrainingFollower follower, IArtifactStore store, TrainingAgentOptions options, WorkGrants grants, CancellationToken ct)
    {
        // The order's grant goes with every fact about the run; a re-sent order (after a restart) brings a fresh one.
        grants.Hold(WorkGrants.Run(order.RunId), order.Grant);
        var job = TrainingWorkspace.JobName(order.RunId);
        switch (TrainingPlan.Decide(workspace.Markers(order.RunId), await runtime.ObserveAsync(job, ct)))
        {
            case TrainingAction.Nothing:
                return [];
            case TrainingAction.Cancel:
                await runtime.CancelAsync(job, ct);
                return [];
            case TrainingAction.Follow:
                follower.Follow(order.RunId, FollowReason.Resumed);
                return [];
        }

        JobSpec spec;
        try
        {
            spec = await TrainingJob.PrepareAsync(order, workspace, store, options, ct);
        }
        catch (Exception e) when (e is InvalidTrainingOrder or ArtifactIntegrityException or DataAccessRefused or FileNotFoundException or NotSupportedException)
        {
            // Deterministic: a redelivery fails the same way, with the same command id (appended once).
            return workspace.Markers(order.RunId).Cancelled
                ? []
                : [new TrainingFailed(FactIds.Outcome(order.RunId), order.RunId, $"cannot start the trainer: {e.Message}")];
        }
        // A StopTraining handled while the dataset was being fetched: start nothing.
        if (workspace.Markers(order.RunId).Cancelled) return [];
        await runtime.SubmitAsync(spec, ct);
        if (workspace.Markers(order.RunId).Cancelled) await runtime.CancelAsync(job, ct);
        follower.Follow(order.RunId, FollowReason.Submitted);
        return [];
    }
}
