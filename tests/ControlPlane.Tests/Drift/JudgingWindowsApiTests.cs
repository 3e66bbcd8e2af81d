using EventMlOps.Contracts;
using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Drift;

/// <summary>The drift agent's windows through the real host, posted with the endpoint's grant: judged, alarmed and cleared
/// on the endpoint's stream, shown in the endpoint's view, its drift history (as of a past sequence too) and the lineage.</summary>
public class JudgingWindowsApiTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DriftMeasured Window(Scenario s, int version, DateTimeOffset start, bool drifts) =>
        new(Guid.NewGuid(), s.Endpoint, s.Model, version, start, start.AddSeconds(1), 400,
            [new FeatureScore("age", FeatureRole.Input, DriftMethod.KolmogorovSmirnov, drifts ? 0.001 : 0.6, 400)]);

    /// <summary>The endpoint's <c>emo_drift_alarms_open</c> at the control plane's /metrics (the exporter caches a scrape briefly).</summary>
    private static async Task<string?> OpenAlarmsGauge(Scenario s, string? expected = null)
    {
        string? value = null;
        for (var i = 0; i < 30; i++)
        {
            var metrics = await s.Viewer.GetStringAsync("/metrics", Ct);
            var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("emo_drift_alarms_open{", StringComparison.Ordinal) && l.Contains($"endpoint=\"{s.Endpoint}\""));
            value = line?.Split(' ')[^1];
            if (value is not null && (expected is null || value == expected)) return value;
            await Task.Delay(200, Ct);
        }
        return value;
    }

    [Fact]
    public async Task Given_v1_serving_When_the_agent_reports_two_drifting_then_two_clean_windows_Then_an_alarm_is_raised_shown_and_cleared()
    {
        var s = new Scenario(fx);
        var (v1, _) = await s.ServingV1Async();
        var agent = fx.Client(Roles.Agent, "drift-agent");
        var t0 = DateTimeOffset.UtcNow; // windows of v1's traffic: after it began serving
        for (var i = 0; i < 2; i++)
            (await s.AgentFact("/api/endpoints/facts/drift-measured", Window(s, v1, t0.AddSeconds(i), drifts: true), agent)).EnsureSuccessStatusCode();

        var view = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}");
        var alarm = view.Drift!.OpenAlarms.ShouldHaveSingleItem();
        (alarm.Version, alarm.Windows, alarm.FirstWindowStart, alarm.Features.Single().Feature).ShouldBe((v1, 2, t0, "age"));
        view.Drift.LastWindow!.Drifted.ShouldBeTrue();
        var raised = await s.Viewer.Get<EndpointDrift>($"/api/endpoints/{s.Endpoint}/drift");
        (await OpenAlarmsGauge(s, "1")).ShouldBe("1");
        var atAlarm = (await s.Viewer.Get<AuditEntry[]>($"/api/audit?stream=endpoint:{s.Endpoint}&limit=1"))[0].Sequence;

        for (var i = 2; i < 4; i++)
            (await s.AgentFact("/api/endpoints/facts/drift-measured", Window(s, v1, t0.AddSeconds(i), drifts: false), agent)).EnsureSuccessStatusCode();

        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Drift!.OpenAlarms.ShouldBeEmpty();
        (await OpenAlarmsGauge(s, "0")).ShouldBe("0");
        var drift = await s.Viewer.Get<EndpointDrift>($"/api/endpoints/{s.Endpoint}/drift?limit=3");
        drift.Windows.Select(w => (w.WindowStart, w.Drifted)).ShouldBe([(t0.AddSeconds(1), true), (t0.AddSeconds(2), false), (t0.AddSeconds(3), false)]);
        drift.Windows[0].Features.Single().ShouldBe(new FeatureVerdict("age", FeatureRole.Input, DriftMethod.KolmogorovSmirnov, 0.001, 0.05, true, 400));
        var cleared = drift.Alarms.ShouldHaveSingleItem();
        (cleared.AlarmId, cleared.ClearReason).ShouldBe((alarm.AlarmId, "2 clean windows in a row"));

        var past = await s.Viewer.Get<EndpointDrift>($"/api/endpoints/{s.Endpoint}/drift?asOf={atAlarm}");
        past.Windows.Count.ShouldBe(2);
        past.Alarms.Single().ClearedAt.ShouldBeNull("as of the alarm, it was open");
        (raised.Alarms.Single().AlarmId, raised.Alarms.Single().ClearedAt).ShouldBe((past.Alarms.Single().AlarmId, null));

        var lineage = await s.Viewer.Get<ModelLineage>($"/api/lineage/models/{s.Model}/{v1}");
        lineage.DriftAlarms!.Single().AlarmId.ShouldBe(alarm.AlarmId);
    }

    [Fact]
    public async Task Given_v1_alarmed_then_replaced_When_it_serves_again_after_a_rollback_Then_one_drifting_window_raises_no_alarm()
    {
        var s = new Scenario(fx);
        var (v1, v2) = await s.ServingV1Async();
        var agent = fx.Client(Roles.Agent, "drift-agent");
        var t0 = DateTimeOffset.UtcNow;
        for (var i = 0; i < 2; i++)
            (await s.AgentFact("/api/endpoints/facts/drift-measured", Window(s, v1, t0.AddSeconds(i), drifts: true), agent)).EnsureSuccessStatusCode();
        (await s.RollOut(v2)).EnsureSuccessStatusCode();
        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Drift!.OpenAlarms.ShouldBeEmpty("v1 no longer serves");
        (await s.Operator.Send("/api/endpoints/rollback", new Rollback(Guid.NewGuid(), s.Endpoint, "v2 is worse"))).EnsureSuccessStatusCode();
        var t1 = DateTimeOffset.UtcNow.AddSeconds(2); // v1 serves again: windows after those of its first serving

        (await s.AgentFact("/api/endpoints/facts/drift-measured", Window(s, v1, t1, drifts: true), agent)).EnsureSuccessStatusCode();

        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Drift!.OpenAlarms
            .ShouldBeEmpty("one drifting window of this serving period is not DetectAfter (2) in a row");
        (await s.AgentFact("/api/endpoints/facts/drift-measured", Window(s, v1, t1.AddSeconds(1), drifts: true), agent)).EnsureSuccessStatusCode();
        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Drift!.OpenAlarms.ShouldHaveSingleItem()
            .FirstWindowStart.ShouldBe(t1, "the streak starts in the serving period it drifts in");
    }

    [Fact]
    public async Task Given_v1_serving_When_a_window_comes_from_its_replica_or_without_this_endpoints_grant_Then_403_and_nothing_is_recorded()
    {
        var s = new Scenario(fx);
        var (v1, _) = await s.ServingV1Async();
        var other = new Scenario(fx);
        var fact = Window(s, v1, DateTimeOffset.UtcNow.AddMinutes(-5), drifts: true);
        var agent = fx.Client(Roles.Agent, "drift-agent");
        (await s.Replica.Send("/api/endpoints/facts/drift-measured", fact)).StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden, "a replica's token is for what it observes");
        (await agent.Send("/api/endpoints/facts/drift-measured", fact)).StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden, "no grant");
        (await other.WithGrant(agent, fact with { Endpoint = other.Endpoint }).Send("/api/endpoints/facts/drift-measured", fact))
            .StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden, "the grant of another endpoint's order");
        (await s.AgentFact("/api/endpoints/facts/drift-measured", fact, s.Operator)).StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden, "not an agent");
        (await s.Viewer.Get<EndpointDrift>($"/api/endpoints/{s.Endpoint}/drift")).Windows.ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_v1_serving_When_a_window_is_stale_or_hostile_Then_nothing_is_recorded_or_400_names_the_field()
    {
        var s = new Scenario(fx);
        var (v1, v2) = await s.ServingV1Async();
        var agent = fx.Client(Roles.Agent, "drift-agent");
        var before = (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).StreamVersion;
        var stale = await (await s.AgentFact("/api/endpoints/facts/drift-measured", Window(s, v2, DateTimeOffset.UtcNow.AddMinutes(-5), true), agent))
            .Read<CommandAccepted>();
        stale.Appended.ShouldBe(0, "v2 does not serve");
        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).StreamVersion.ShouldBe(before, "a command that appends nothing leaves the version callers pass as expectedVersion");

        var tooMany = Window(s, v1, DateTimeOffset.UtcNow.AddMinutes(-5), true) with
        {
            Features = [.. Enumerable.Range(0, 200).Select(i => new FeatureScore($"f{i}", FeatureRole.Input, DriftMethod.Psi, 0.2, 400))],
        };
        (await (await s.AgentFact("/api/endpoints/facts/drift-measured", tooMany, agent)).Problem(400)).GetProperty("field").GetString().ShouldBe("features");
        (await s.Viewer.Get<EndpointDrift>($"/api/endpoints/{s.Endpoint}/drift")).Windows.ShouldBeEmpty();
        (await s.Viewer.GetAsync($"/api/endpoints/{s.Endpoint}/drift?limit=0", Ct)).StatusCode.ShouldBe(System.Net.HttpStatusCode.BadRequest);
        (await s.Viewer.GetAsync("/api/endpoints/nope/drift", Ct)).StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Given_a_version_trained_with_a_baseline_When_it_is_rolled_out_Then_its_work_order_carries_the_baseline_and_the_policy()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var baseline = new ArtifactRef("file:///artifacts/baseline.json", new string('b', 64), 1234);
        var v = await s.RegisteredVersion(await s.TrainedRun(new Dictionary<string, double> { ["hr@10"] = 0.7 }, new Dictionary<string, ArtifactRef> { ["baseline"] = baseline }));
        await s.CreateEndpoint();
        (await s.RollOut(v)).EnsureSuccessStatusCode();

        var desired = await s.Replica.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired");
        desired.Versions.Single().Baseline.ShouldBe(baseline);
        desired.Drift.ShouldBe(DriftPolicy.Default);
        (await EventMlOps.ControlPlane.Tests.Endpoints.WorkOrders.Eventually(fx, $"\"endpoint\":\"{s.Endpoint}\"", "\"baseline\":{\"uri\":\"file:///artifacts/baseline.json\""))
            .ShouldBeTrue("the rollout's ApplyEndpoint carries the baseline to the agents");
    }
}
