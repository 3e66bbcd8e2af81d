using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Commanding;
using JasperFx.Events;
using Marten;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>Every change of an endpoint's desired state (traffic, canary step, deletion) becomes an <see cref="ApplyEndpoint"/> work order
/// carrying the endpoint's whole desired state: agents reconcile to it, never to a delta.</summary>
public static class EndpointWorkOrdersHandler
{
    public static Task<ApplyEndpoint> Handle(IEvent<RolloutStarted> e, IQuerySession session) => Desired(session, e.Data.Endpoint);

    public static Task<ApplyEndpoint> Handle(IEvent<RolloutStepAdvanced> e, IQuerySession session) => Desired(session, e.Data.Endpoint);

    public static Task<ApplyEndpoint> Handle(IEvent<RolloutPromoted> e, IQuerySession session) => Desired(session, e.Data.Endpoint);

    public static Task<ApplyEndpoint> Handle(IEvent<RolloutAborted> e, IQuerySession session) => Desired(session, e.Data.Endpoint);

    public static Task<ApplyEndpoint> Handle(IEvent<EndpointRolledBack> e, IQuerySession session) => Desired(session, e.Data.Endpoint);

    public static Task<ApplyEndpoint> Handle(IEvent<CanaryRolledBack> e, IQuerySession session) => Desired(session, e.Data.Endpoint);

    public static Task<ApplyEndpoint> Handle(IEvent<EndpointDeleted> e, IQuerySession session) => Desired(session, e.Data.Endpoint);

    private static async Task<ApplyEndpoint> Desired(IQuerySession session, string endpoint)
    {
        var state = await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(endpoint))
            ?? throw new InvalidOperationException($"endpoint '{endpoint}' has events but no state");
        return state.Desired();
    }
}
