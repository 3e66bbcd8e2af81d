using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.WorkOrders;

/// <summary>The grants work orders carry. They reach only whoever consumes the agents' queue — never an HTTP caller —
/// so an agent token alone cannot report facts about work it was not given.</summary>
public static class Grants
{
    /// <summary>Longer than any training we expect; a restarted agent gets fresh ones (<see cref="RequestWorkOrdersHandler"/>).</summary>
    public static readonly TimeSpan RunLifetime = TimeSpan.FromDays(7);

    /// <summary>Renewed with every order for the endpoint, and on the agent's request before it runs out.</summary>
    public static readonly TimeSpan EndpointLifetime = TimeSpan.FromDays(7);

    public static string ForRun(this Tokens tokens, Guid runId) => tokens.IssueGrant(Scopes.Run(runId), RunLifetime);

    public static string ForEndpoint(this Tokens tokens, string endpoint) => tokens.IssueGrant(Scopes.Endpoint(endpoint), EndpointLifetime);
}
