using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Endpoints;

/// <summary>The rollout agent's measurements through the real host: the control plane advances, promotes or rolls the
/// canary back, and the serving processes' desired state follows.</summary>
public class AnalyzingCanariesApiTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly VersionMetrics Stable = new(900, 1, 11);

    private async Task<(Scenario S, int V1, int V2)> ServingV1Async()
    {
        var s = new Scenario(fx);
        var (v1, v2) = await s.ServingV1Async();
        return (s, v1, v2);
    }

    private async Task<(Scenario S, int V1, int V2, HttpClient Agent, ApplyEndpoint Desired)> CanaryAsync()
    {
        var (s, v1, v2) = await ServingV1Async();
        (await s.RollOut(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 0), new CanaryStep(50, 0)], new RolloutAnalysis(1, 10))))
            .EnsureSuccessStatusCode();
        var agent = fx.Client(Roles.Agent, "rollout-agent");
        return (s, v1, v2, agent, await agent.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired"));
    }

    private static async Task Measured(Scenario s, HttpClient agent, CanaryAnalysisOrder canary, VersionMetrics metrics) =>
        (await s.AgentFact("/api/endpoints/facts/step", new RolloutStepReport(Guid.NewGuid(), s.Endpoint, canary.RolloutId, canary.Step, metrics, Stable), agent))
        .EnsureSuccessStatusCode();

    [Fact]
    public async Task Given_a_canary_When_the_agent_reports_healthy_steps_Then_the_long_poll_sees_each_step_and_the_promotion()
    {
        var (s, v1, v2, agent, desired) = await CanaryAsync();
        var first = desired.Canary.ShouldNotBeNull();
        (first.Step, first.CanaryVersion, first.StableVersion, first.Current, first.Analysis)
            .ShouldBe((0, v2, v1, new CanaryStep(10, 0), new RolloutAnalysis(1, 10)));

        var waiting = agent.GetAsync($"/api/endpoints/{s.Endpoint}/desired?after={desired.Revision}&waitSeconds=20", Ct);
        await Measured(s, agent, first, new VersionMetrics(100, 0, 12));
        var advanced = await (await waiting).Read<ApplyEndpoint>();
        advanced.Canary!.Step.ShouldBe(1);
        advanced.Versions.Select(v => (v.Version, v.Weight)).ShouldBe([(v1, 50), (v2, 50)]);

        await Measured(s, agent, advanced.Canary, new VersionMetrics(400, 1, 12));
        var promoted = await agent.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired?after={advanced.Revision}&waitSeconds=10");
        promoted.Versions.Select(v => (v.Version, v.Weight)).ShouldBe([(v2, 100), (v1, 0)], "v1 stays the fallback until a replica reports v2 loaded");
        promoted.Canary.ShouldBeNull();

        var endpoint = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}");
        (endpoint.Rollouts[^1].Outcome, endpoint.Rollouts[^1].By).ShouldBe(("promoted", "rollout-agent"));
        endpoint.RecentAnalysis!.Select(a => (a.Step, a.Verdict)).ShouldBe([(0, "healthy"), (1, "healthy")]);
    }

    [Fact]
    public async Task Given_a_canary_When_too_few_requests_then_a_breach_are_reported_Then_it_waits_then_rolls_back_and_a_work_order_says_so()
    {
        var (s, v1, _, agent, desired) = await CanaryAsync();

        await Measured(s, agent, desired.Canary!, new VersionMetrics(5, 5, 12));
        (await agent.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired")).Revision.ShouldBe(desired.Revision, "too few samples: no verdict");
        await Measured(s, agent, desired.Canary!, new VersionMetrics(100, 40, 12));

        var rolledBack = await agent.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired?after={desired.Revision}&waitSeconds=10");
        rolledBack.Versions.Select(v => (v.Version, v.Weight)).ShouldBe([(v1, 100)]);
        rolledBack.Canary.ShouldBeNull();
        var endpoint = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}");
        (endpoint.Rollouts[^1].Outcome, endpoint.Rollouts[^1].Reason).ShouldBe(("rolled back", "canary error rate 40.0 % > 5.0 %"));
        endpoint.RecentAnalysis!.Select(a => a.Verdict).ShouldBe(["too_few_samples", "breach"]);
        (await WorkOrders.Eventually(fx, $"\"endpoint\":\"{s.Endpoint}\",\"revision\":{rolledBack.Revision},"))
            .ShouldBeTrue("the rollback's ApplyEndpoint reached the agents' queue");
    }

    [Fact]
    public async Task Given_an_out_of_range_analysis_When_rolling_out_over_http_Then_400_names_the_field()
    {
        var (s, _, v2) = await ServingV1Async();
        var response = await s.RollOut(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 0)], RolloutAnalysis.Default with { MaxErrorRate = 2 }));
        (await response.Problem(400)).GetProperty("field").GetString().ShouldBe("strategy.analysis.maxErrorRate");
    }
}

/// <summary>The work orders waiting in the agents' PostgreSQL queue (nobody consumes it in these tests).</summary>
public static class WorkOrders
{
    public static Task<bool> Eventually(ControlPlaneFixture fx, params string[] fragments) =>
        Lineage.LifecycleTests.Eventually(async () =>
        {
            await using var conn = new Npgsql.NpgsqlConnection(fx.ConnectionString);
            await conn.OpenAsync();
            var where = string.Join(" and ", fragments.Select((_, i) => $"position(@f{i} in body) > 0"));
            await using var cmd = new Npgsql.NpgsqlCommand($"select count(*) from emo_queues.wolverine_queue_emo_agents where {where}", conn);
            for (var i = 0; i < fragments.Length; i++)
                cmd.Parameters.AddWithValue($"f{i}", System.Text.Encoding.UTF8.GetBytes(fragments[i])); // the body is a binary envelope
            return (long)(await cmd.ExecuteScalarAsync())! > 0;
        });
}
