using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Agents;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Agents;

/// <summary>An agent host's beat: recorded under its token's name, overwriting the last one, appending no event; only an
/// agent may beat; any role reads them.</summary>
public class AgentsApiTests(ControlPlaneFixture fx)
{
    [Fact]
    public async Task Given_agents_beating_When_read_Then_each_shows_under_its_tokens_name_with_its_last_beat()
    {
        var name = $"agents-{Guid.NewGuid():N}"[..16];
        var agent = fx.Client(Roles.Agent, name);
        (await agent.Send("/api/agents/heartbeat", new AgentHeartbeat(Guid.NewGuid(), "local", "local", 2, 1))).EnsureSuccessStatusCode();
        (await agent.Send("/api/agents/heartbeat", new AgentHeartbeat(Guid.NewGuid(), "kubernetes", "kubernetes", 0, 3))).EnsureSuccessStatusCode();
        (await fx.Client(Roles.Scientist, "alice").Send("/api/agents/heartbeat", new AgentHeartbeat(Guid.NewGuid(), "local", "local", 0, 0))).StatusCode
            .ShouldBe(HttpStatusCode.Forbidden);
        (await agent.Send("/api/agents/heartbeat", new AgentHeartbeat(Guid.NewGuid(), "local", "local", -1, 0))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var seen = (await fx.Client(Roles.Viewer, "victor").Get<List<AgentView>>("/api/agents")).Single(a => a.Name == name);
        (seen.JobRuntime, seen.Jobs, seen.Endpoints, seen.Alive).ShouldBe(("kubernetes", 0, 3, true), "the last beat, from a live host");
        seen.LastBeatAt.ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-1));
        // No event in the store carries this agent's name: its beats appended nothing.
        await using var conn = new Npgsql.NpgsqlConnection(fx.ConnectionString);
        await conn.OpenAsync(TestContext.Current.CancellationToken);
        await using var count = new Npgsql.NpgsqlCommand("select count(*) from emo.mt_events where user_name = @name", conn);
        count.Parameters.AddWithValue("name", name);
        ((long)(await count.ExecuteScalarAsync(TestContext.Current.CancellationToken))!).ShouldBe(0, "a beat is no history");
    }
}
