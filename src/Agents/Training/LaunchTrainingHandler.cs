using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Training;
using Wolverine;

namespace EventMlOps.Agents.Training;

/// <summary>A <see cref="LaunchTraining"/> work order: reconcile the run's job (<see cref="TrainingPlan"/>) — submit it
/// when it does not exist (never twice: the name is deterministic), follow it when it does. A work order that cannot
/// run (bad generator URI, no trainer) is answered with the run's failure; a dataset the trainer cannot fetch or whose
/// content does not match fails the trainer (exit code 2, its reason in the log).</summary>
public static class LaunchTrainingHandler
{
    public static async Task<OutgoingMessages> Handle(LaunchTraining order, IWorkloadRuntime runtime,
        TrainingFollower follower, TrainingAgentOptions options, WorkGrants grants, CancellationToken ct)
    {
        // The order's grant goes with every fact about the run; a re-sent order (after a restart) brings a fresh one.
        grants.Hold(WorkGrants.Run(order.RunId), order.Grant);
        var job = TrainingRuns.JobName(order.RunId);
        var observed = await runtime.ObserveAsync(job, ct);
        switch (TrainingPlan.Decide(TrainingRuns.Markers(observed), observed))
        {
            case TrainingAction.Nothing:
                return [];
            case TrainingAction.Cancel:
                await runtime.CancelAsync(job, ct);
                return [];
            case TrainingAction.Follow:
                // A job not started yet may lack what its submission writes after claiming the name (on Kubernetes, the
                // Secret its pod waits for) when that write failed or the agent stopped in between: submitting it again
                // writes it, and starts nothing twice.
                if (observed.Phase == JobPhase.Pending && Prepared(order, options) is { } pending) await runtime.SubmitAsync(pending, ct);
                follower.Follow(order.RunId, FollowReason.Resumed);
                return [];
        }

        JobSpec spec;
        try
        {
            spec = TrainingJob.Prepare(order, options);
        }
        catch (InvalidTrainingOrder e)
        {
            // Deterministic: a redelivery fails the same way, with the same command id (appended once).
            return [new TrainingFailedReport(FactIds.Outcome(order.RunId), order.RunId, $"cannot start the trainer: {e.Message}")];
        }
        // A StopTraining handled meanwhile left the name cancelled: the runtime starts nothing then.
        await runtime.SubmitAsync(spec, ct);
        follower.Follow(order.RunId, FollowReason.Submitted);
        return [];
    }

    private static JobSpec? Prepared(LaunchTraining order, TrainingAgentOptions options)
    {
        try { return TrainingJob.Prepare(order, options); }
        catch (InvalidTrainingOrder) { return null; }
    }
}
