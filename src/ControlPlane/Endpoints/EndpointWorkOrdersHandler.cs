using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.WorkOrders;
using JasperFx.Events;
using Marten;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>Every change of an endpoint's desired state (traffic, canary step, deletion) becomes an <see cref="ApplyEndpoint"/> work order
/// carrying the endpoint's whole desired state: agents reconcile to it, never to a delta.</summary>
public static class EndpointWorkOrdersHandler
{
    public static Task<ApplyEndpoint> Handle(IEvent<RolloutStarted> e, IQuerySession session, Tokens tokens) => Desired(session, e.Data.Endpoint, tokens);

    public static Task<ApplyEndpoint> Handle(IEvent<RolloutStepAdvanced> e, IQuerySession session, Tokens tokens) => Desired(session, e.Data.Endpoint, tokens);

    public static Task<ApplyEndpoint> Handle(IEvent<RolloutPromoted> e, IQuerySession session, Tokens tokens) => Desired(session, e.Data.Endpoint, tokens);

    public static Task<ApplyEndpoint> Handle(IEvent<RolloutAborted> e, IQuerySession session, Tokens tokens) => Desired(session, e.Data.Endpoint, tokens);

    public static Task<ApplyEndpoint> Handle(IEvent<EndpointRolledBack> e, IQuerySession session, Tokens tokens) => Desired(session, e.Data.Endpoint, tokens);

    public static Task<ApplyEndpoint> Handle(IEvent<CanaryRolledBack> e, IQuerySession session, Tokens tokens) => Desired(session, e.Data.Endpoint, tokens);

    public static Task<ApplyEndpoint> Handle(IEvent<EndpointDeleted> e, IQuerySession session, Tokens tokens) => Desired(session, e.Data.Endpoint, tokens);

    public static Task<ApplyEndpoint> Handle(IEvent<RolloutFailed> e, IQuerySession session, Tokens tokens) => Desired(session, e.Data.Endpoint, tokens);

    private static async Task<ApplyEndpoint> Desired(IQuerySession session, string endpoint, Tokens tokens)
    {
        var state = await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(endpoint))
            ?? throw new InvalidOperationException($"endpoint '{endpoint}' has events but no state");
        return state.Desired() with { Grant = tokens.ForEndpoint(endpoint) };
    }
}
