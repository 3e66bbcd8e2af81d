using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Training;

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

    /// <summary>Why an unfinished job waits, to report when it is news against what was <paramref name="reported"/> last;
    /// null: nothing to report. Anything is news while nothing was reported (<paramref name="reported"/> null): after a
    /// resume the control plane may still hold a reason that cleared while no agent watched; it records only a change.
    /// The runtime's words are made what the control plane accepts: one line, at most
    /// <see cref="JobWaitingReport.MaxReasonLength"/> characters.</summary>
    public static JobWaiting? Waiting(JobWaiting? reported, JobObservation job)
    {
        var seen = new JobWaiting(FactText.OneLine(job.Waiting, JobWaitingReport.MaxReasonLength));
        return seen == reported ? null : seen;
    }
}

/// <summary>Why a job waits as reported to the control plane; <paramref name="Reason"/> null: all is well.</summary>
public sealed record JobWaiting(string? Reason);
