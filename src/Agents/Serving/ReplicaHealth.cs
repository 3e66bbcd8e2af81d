using EventMlOps.Agents.Runtime;

namespace EventMlOps.Agents.Serving;

/// <summary>What the supervisor remembers of a replica between checks — failed liveness probes in a row, restarts after
/// short lives in a row, when it last started — and the pure decision it takes on each check.</summary>
public sealed record ReplicaHealth(int FailedProbes = 0, int QuickRestarts = 0, DateTimeOffset LastStart = default)
{
    /// <summary>Consecutive failed liveness probes after which a running replica counts as hung.</summary>
    public const int LivenessFailures = 3;

    /// <summary>A replica that lived less than this before it died counts towards the backoff.</summary>
    public static readonly TimeSpan QuickDeath = TimeSpan.FromMinutes(1);

    /// <summary>The check of <paramref name="seen"/> (<paramref name="answered"/>: its liveness probe, when it runs):
    /// the health to remember, and whether to restart it now. A replica still starting may not answer yet; a dead one is
    /// restarted once its backoff, counted from its death, has passed.</summary>
    public (ReplicaHealth Next, bool Restart) Check(JobObservation seen, bool answered, DateTimeOffset now, TimeSpan startTimeout)
    {
        switch (seen.Phase)
        {
            case JobPhase.Running:
                var next = this with { FailedProbes = answered ? 0 : FailedProbes + 1 };
                return (next, next.Hung(now, startTimeout));
            case JobPhase.Pending or JobPhase.Missing:
                return (this, false);
            default:
                return (this, now - (seen.FinishedAt ?? LastStart) >= Backoff(QuickRestartsAfter(seen, now)));
        }
    }

    public bool Hung(DateTimeOffset now, TimeSpan startTimeout) => FailedProbes >= LivenessFailures && now - LastStart >= startTimeout;

    /// <summary>The health of the replica started again at <paramref name="now"/> after <paramref name="dead"/>.</summary>
    public ReplicaHealth Restarted(JobObservation dead, DateTimeOffset now) => new(QuickRestarts: QuickRestartsAfter(dead, now), LastStart: now);

    /// <summary>Short lives in a row, counting <paramref name="dead"/>'s: one shorter than <see cref="QuickDeath"/> adds one,
    /// a longer one starts the count afresh (a hung replica, still running, counts as dying now).</summary>
    public int QuickRestartsAfter(JobObservation dead, DateTimeOffset now) =>
        (dead.FinishedAt ?? now) - (dead.StartedAt ?? LastStart) < QuickDeath ? QuickRestarts + 1 : 0;

    /// <summary>0 s before the first restart in a row, then 2, 4, … up to 60 s while a replica keeps dying young.</summary>
    public static TimeSpan Backoff(int quickRestarts) =>
        quickRestarts <= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, quickRestarts - 1)));
}
