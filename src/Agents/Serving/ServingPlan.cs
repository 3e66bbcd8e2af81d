using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Agents.Serving;

public enum ServingAction { Nothing, Create, Update, Delete }

/// <param name="Replicas">How many replicas the endpoint is to run after the step.</param>
/// <param name="Stale">The order is older than what the runtime applied: it must change nothing (not the canary analysis either).</param>
/// <param name="Reason">Why, in words for the agent's log.</param>
public sealed record ServingStep(ServingAction Action, int Replicas, bool Stale, string Reason);

/// <summary>What to do with an endpoint, from its desired state (a work order) and what the serving runtime holds — a
/// pure decision, as the control plane's deciders are. Replica bounds are respected: at least <c>MinReplicas</c> (and at
/// least one while there is a version to serve: nothing here scales on requests, so nothing scales to zero), at most
/// <c>MaxReplicas</c>, and at most what the runtime can run per endpoint, said in the reason when that is fewer.</summary>
public static class ServingPlan
{
    public static ServingStep Decide(ApplyEndpoint desired, ObservedEndpoint? observed, int runtimeMax)
    {
        if (observed is not null && desired.Revision < observed.AppliedRevision)
            return new(ServingAction.Nothing, observed.Replicas.Count, true,
                $"revision {desired.Revision} is older than the applied revision {observed.AppliedRevision}: ignored");
        if (desired.Deleted)
            return observed is null or { Deleted: true }
                ? new(ServingAction.Nothing, 0, false, "deleted; nothing of it runs here")
                : new(ServingAction.Delete, 0, false, "the endpoint was deleted");
        if (desired.Versions.Count == 0)
            return new(ServingAction.Nothing, observed?.Replicas.Count ?? 0, false, "no version to serve yet");

        var max = Math.Max(desired.MaxReplicas, 1);
        var wanted = Math.Min(Math.Max(desired.MinReplicas, 1), max);
        var replicas = Math.Min(wanted, runtimeMax);
        var reason = replicas < wanted
            ? $"{wanted} replicas wanted (min {desired.MinReplicas}, max {desired.MaxReplicas}); this runtime runs at most {runtimeMax} per endpoint"
            : $"{replicas} of min {desired.MinReplicas}, max {desired.MaxReplicas} replicas";
        if (observed is null or { Deleted: true }) return new(ServingAction.Create, replicas, false, reason);
        return observed.Replicas.Count != replicas || observed.AppliedRevision != desired.Revision
            ? new(ServingAction.Update, replicas, false, reason)
            : new(ServingAction.Nothing, replicas, false, reason);
    }
}
