using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Endpoints;

/// <summary><c>GET /api/endpoints/{name}/timeline</c>: an endpoint's traffic after each change, its rollouts' marks, each
/// canary's verdicts with the limits they were taken under, its replicas' changes — read from its events, now and as of then.</summary>
public class EndpointTimelineApiTests(ControlPlaneFixture fx)
{
    [Fact]
    public async Task Given_a_canary_advanced_promoted_and_rolled_back_When_reading_the_timeline_Then_each_split_mark_and_verdict_is_there_in_order()
    {
        var s = new Scenario(fx);
        var (v1, v2) = await s.ServingV1Async();
        await s.Fact("/api/endpoints/facts/replica", new ReplicaChangeReport(Guid.NewGuid(), s.Endpoint, "serve-x", ReplicaChange.Restarted, "local", null, "exit", 137));
        var limits = new RolloutAnalysis(1, 20, 0.05, 250, 3);
        (await s.RollOut(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 0), new CanaryStep(50, 0)], limits))).EnsureSuccessStatusCode();
        var agent = fx.Client(Roles.Agent, "rollout-agent");
        var order = (await agent.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired")).Canary!;
        foreach (var canary in new[] { new VersionMetrics(5, 0, 12), new VersionMetrics(50, 0, 12) })
            (await s.AgentFact("/api/endpoints/facts/step", new RolloutStepReport(Guid.NewGuid(), s.Endpoint, order.RolloutId, 0, canary, new VersionMetrics(500, 0, 10)), agent))
                .EnsureSuccessStatusCode();
        var beforePromotion = (await s.Viewer.Get<AuditEntry[]>($"/api/audit?stream=endpoint:{s.Endpoint}&limit=1"))[0].Sequence;
        (await s.Operator.Send("/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), s.Endpoint))).EnsureSuccessStatusCode();
        (await s.Operator.Send("/api/endpoints/rollback", new Rollback(Guid.NewGuid(), s.Endpoint, "p95 regressed"))).EnsureSuccessStatusCode();

        var timeline = await s.Viewer.Get<EndpointTimeline>($"/api/endpoints/{s.Endpoint}/timeline");
        timeline.Traffic.Select(p => string.Join(" ", p.Weights.Select(w => $"v{w.Version}:{w.Weight}"))).ShouldBe(
            ["", $"v{v1}:100", $"v{v1}:90 v{v2}:10", $"v{v1}:50 v{v2}:50", $"v{v2}:100", $"v{v1}:100"]);
        timeline.Marks.Select(m => (m.Mark, m.Version, m.By, m.Reason)).ShouldBe([
            (RolloutMarks.Created, null, "olga", null),
            (RolloutMarks.Started, v1, "olga", "immediate"),
            (RolloutMarks.Promoted, v1, $"serve-{s.Endpoint}", null),
            (RolloutMarks.Started, v2, "olga", "canary 10 % → 50 %"),
            (RolloutMarks.Advanced, v2, "rollout-agent", "step 2: canary at 50 %"),
            (RolloutMarks.Promoted, v2, "olga", null),
            (RolloutMarks.RolledBack, v1, "olga", $"from v{v2}: p95 regressed"),
        ]);
        var series = timeline.Canaries.ShouldHaveSingleItem();
        (series.Version, series.StableVersion, series.Analysis).ShouldBe((v2, v1, limits));
        series.Points.Select(p => (p.Step, p.Verdict, p.Canary.Requests)).ShouldBe([(0, "too_few_samples", 5L), (0, "healthy", 50L)]);
        timeline.Replicas.Select(r => (r.Replica, r.Change, r.ExitCode)).ShouldBe([("serve-x", ReplicaChange.Restarted, (int?)137)]);

        var then = await s.Viewer.Get<EndpointTimeline>($"/api/endpoints/{s.Endpoint}/timeline?asOf={beforePromotion}");
        then.Traffic[^1].Weights.Select(w => (w.Version, w.Weight)).ShouldBe([(v1, 50), (v2, 50)]);
        then.Marks[^1].Mark.ShouldBe(RolloutMarks.Advanced);
        then.AsOf.ShouldBe($"seq {beforePromotion}");
        (await s.Viewer.Get<EndpointTimeline>($"/api/endpoints/{s.Endpoint}/timeline?limit=2")).Traffic.Count.ShouldBe(2, "the most recent points");
        (await s.Viewer.GetAsync($"/api/endpoints/{s.Endpoint}x/timeline")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
    }
}
