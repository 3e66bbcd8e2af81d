using EventMlOps.Agents.Drift;
using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using EventMlOps.Contracts.Endpoints;
using Microsoft.Extensions.Logging;
using Wolverine;

namespace EventMlOps.Agents.Rollout;

/// <summary>An <see cref="ApplyEndpoint"/> work order: what the serving runtime holds of the endpoint is observed, the
/// <see cref="ServingPlan"/> decides (create, update, nothing, delete — within the replica bounds), the runtime applies
/// it, a canary step is analysed and the drift agent follows the order. An order older than the revision the runtime last applied changes nothing — the
/// revision is kept on the runtime's objects, so this holds across agent restarts. A replica that cannot be started is
/// reported as the endpoint's observed state, so the operator sees why nothing serves.</summary>
public static class ApplyEndpointHandler
{
    public static async Task<OutgoingMessages> Handle(ApplyEndpoint order, IServingRuntime serving, CanaryAnalyzer analyzer, DriftAgent drift, WorkGrants grants,
        ILogger<ApplyEndpoint> log, CancellationToken ct)
    {
        // Every order brings a fresh grant for the endpoint's facts and replica tokens (a stale order's too: it is no less valid).
        grants.Hold(WorkGrants.Endpoint(order.Endpoint), order.Grant);
        var step = ServingPlan.Decide(order, await serving.ObserveAsync(order.Endpoint, ct), serving.MaxReplicasPerEndpoint);
        log.LogDebug("Endpoint {Endpoint} revision {Revision}: {Action} ({Reason})", order.Endpoint, order.Revision, step.Action, step.Reason);
        // A stale order (a retry, or parallel delivery) must not undo a newer one: restart a deleted endpoint's replica,
        // stop the replica of one created again, or move the canary analysis back.
        if (step.Stale) return [];
        analyzer.Track(order);
        drift.Track(order);
        try
        {
            switch (step.Action)
            {
                case ServingAction.Delete:
                    await serving.DeleteAsync(order.Endpoint, order.Revision, "the endpoint was deleted", ct);
                    break;
                case ServingAction.Create or ServingAction.Update:
                    await serving.ApplyAsync(order, step.Replicas, ct);
                    break;
            }
            return [];
        }
        catch (ServingUnavailable e)
        {
            var message = $"no serving replica: {e.Message}";
            // Deterministic: a redelivered order failing the same way reports the same fact once.
            return [new EndpointStatusReport(FactIds.For(Guid.Empty, $"serving/{order.Endpoint}/{order.Revision}/{message}"), order.Endpoint, order.Revision, false, message)];
        }
    }
}
