using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.WorkOrders;
using JasperFx.Events;
using Marten;
using Wolverine;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>Every change of an endpoint's desired state (traffic, canary step, deletion) becomes an <see cref="ApplyEndpoint"/> work order
/// carrying the endpoint's whole desired state: agents reconcile to it, never to a delta. So does a change of the model's policy.</summary>
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

    /// <summary>A model's new policy reaches every live endpoint of the model at the revision it has: the agents ignore only
    /// orders older than what they applied, so an order of the same revision brings the policy without redeploying anything.</summary>
    public static async Task<OutgoingMessages> Handle(IEvent<ModelPolicySet> e, IQuerySession session, Tokens tokens)
    {
        var orders = new OutgoingMessages();
        foreach (var endpoint in await session.Query<EndpointState>().Where(x => x.ModelName == e.Data.ModelName && x.DeletedAt == null).ToListAsync())
            orders.Add(await session.DesiredAsync(endpoint) with { Grant = tokens.ForEndpoint(endpoint.Name) });
        return orders;
    }

    private static async Task<ApplyEndpoint> Desired(IQuerySession session, string endpoint, Tokens tokens)
    {
        var state = await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(endpoint))
            ?? throw new InvalidOperationException($"endpoint '{endpoint}' has events but no state");
        return await session.DesiredAsync(state) with { Grant = tokens.ForEndpoint(endpoint) };
    }
}
