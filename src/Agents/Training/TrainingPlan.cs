using EventMlOps.Agents.Runtime;

namespace EventMlOps.Agents.Training;

public enum TrainingAction { Nothing, Submit, Follow, Cancel }

/// <summary>The agent's reconcile decision for one run: what it already did (its markers) and what the runtime shows
/// → what to do now. Pure, so every way in (a work order, a redelivered one, a restart) takes the same path.</summary>
public static class TrainingPlan
{
    public static TrainingAction Decide(RunMarkers run, JobObservation job) => (run, job.Phase) switch
    {
        ({ Reported: true }, _) => TrainingAction.Nothing,
        ({ Cancelled: true }, JobPhase.Pending or JobPhase.Running) => TrainingAction.Cancel,
        ({ Cancelled: true }, _) => TrainingAction.Nothing,
        (_, JobPhase.Missing) => TrainingAction.Submit,
        // Running: follow it; finished but not reported (the agent stopped in between): follow it to its report.
        _ => TrainingAction.Follow,
    };
}
