using EventMlOps.Contracts;
using EventMlOps.Contracts.Agents;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Agents;

/// <summary>An agent host's last beat, by its token's name: a document (like a run's liveness), not history.</summary>
public sealed record AgentLiveness(string Id, string JobRuntime, string ServingRuntime, int Jobs, int Endpoints, DateTimeOffset LastBeatAt);

public static class AgentHeartbeatHandler
{
    public static CommandAccepted Handle(AgentHeartbeat beat, Actor actor, IDocumentSession session, TimeProvider time)
    {
        if (beat.Jobs < 0 || beat.Endpoints < 0) throw new InvalidField("jobs/endpoints", "must be ≥ 0");
        session.Store(new AgentLiveness(actor.Name, Guard.Text("jobRuntime", beat.JobRuntime, 63) ?? "", Guard.Text("servingRuntime", beat.ServingRuntime, 63) ?? "",
            beat.Jobs, beat.Endpoints, time.GetUtcNow()));
        return session.Answered(new CommandAccepted(beat.CommandId, $"agent:{actor.Name}", 0, 0));
    }
}

/// <summary><c>GET /api/agents</c>; <c>POST /api/agents/heartbeat</c> (role agent).</summary>
public static class AgentsApi
{
    /// <summary>Three beats of the agents' default interval (15 s) without one: the host is taken for gone.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(45);

    public static void MapAgents(this RouteGroupBuilder api)
    {
        api.MapCommand<AgentHeartbeat>("/agents/heartbeat");
        api.MapGet("/agents", async (IQuerySession session, TimeProvider time, CancellationToken ct) =>
        {
            var now = time.GetUtcNow();
            return (await session.Query<AgentLiveness>().OrderBy(a => a.Id).ToListAsync(ct))
                .Select(a => new AgentView(a.Id, a.JobRuntime, a.ServingRuntime, a.Jobs, a.Endpoints, a.LastBeatAt, now - a.LastBeatAt <= StaleAfter,
                    (int)StaleAfter.TotalSeconds)).ToList();
        }).WithName("GetAgents");
    }
}
