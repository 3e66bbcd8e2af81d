using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using EventMlOps.Contracts.Endpoints;
using Wolverine;

namespace EventMlOps.Agents.Rollout;

/// <summary>An <see cref="ApplyEndpoint"/> work order: the endpoint's replica is made to exist (it converges to the
/// desired versions and weights by itself), a canary step is analysed, a deleted endpoint's replica is stopped. A replica
/// that cannot be started is reported as the endpoint's observed state, so the operator sees why nothing serves. Orders
/// older than the latest one seen for the endpoint are ignored.</summary>
public static class ApplyEndpointHandler
{
    public static async Task<OutgoingMessages> Handle(ApplyEndpoint order, ServingReplicas replicas, CanaryAnalyzer analyzer, WorkGrants grants,
        CancellationToken ct)
    {
        // Every order brings a fresh grant for the endpoint's facts and replica tokens (a stale order's too: it is no less valid).
        grants.Hold(WorkGrants.Endpoint(order.Endpoint), order.Grant);
        // An order older than one already handled (a retry, or parallel delivery) must not undo it: restart a replica
        // of a deleted endpoint, or stop the replica of one created again.
        if (!analyzer.Track(order)) return [];
        if (order.Deleted)
        {
            await replicas.StopReplicaAsync(order.Endpoint, "the endpoint was deleted", ct);
            return [];
        }
        if (order.Versions.Count == 0) return [];
        try
        {
            await replicas.EnsureAsync(order.Endpoint, ct);
            return [];
        }
        catch (ServingUnavailable e)
        {
            var message = $"no serving replica: {e.Message}";
            // Deterministic: a redelivered order failing the same way reports the same fact once.
            return [new EndpointObserved(FactIds.For(Guid.Empty, $"serving/{order.Endpoint}/{order.Revision}/{message}"), order.Endpoint, order.Revision, false, message)];
        }
    }
}
