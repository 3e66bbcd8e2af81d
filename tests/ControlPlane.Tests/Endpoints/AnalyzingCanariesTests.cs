using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using static EventMlOps.ControlPlane.Tests.Endpoints.EndpointHistory;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Endpoints;

/// <summary>The control plane judges each of the rollout agent's measurements of a canary step (default analysis:
/// 50 requests, 5 % errors, p95 ≤ 2 × stable with a 5 ms floor; 60 s bake per step).</summary>
public class AnalyzingCanariesTests
{
    private const string Agent = "rollout-agent";
    private static readonly VersionMetrics Stable = new(4500, 3, 11.0), Fine = new(500, 1, 12.5);

    private static RolloutStepReport Measured(VersionMetrics canary, VersionMetrics? stable = null, int step = 0, Guid? rollout = null) =>
        new(Guid.NewGuid(), "rec", rollout ?? R2, step, canary, stable ?? Stable);

    private static object[] Analyze(object[] given, RolloutStepReport fact, DateTimeOffset at) =>
        EndpointDecisions.Analyze(Given<EndpointState>(given), fact, Agent, at);

    private static RolloutAnalysisRecorded Recorded(RolloutStepReport f, string verdict, string detail, DateTimeOffset at) =>
        new("rec", f.RolloutId, f.Step, f.Canary, f.Stable, verdict, detail, at);

    [Fact]
    public void Given_a_canary_When_each_step_is_healthy_after_its_bake_Then_it_advances_then_is_promoted_by_the_agent()
    {
        var first = Measured(Fine);
        var advanced = new RolloutStepAdvanced("rec", R2, 1, 50, Now.AddSeconds(61));
        Analyze(CanaryOfV2, first, Now.AddSeconds(61)).ThenEvents(Recorded(first, "healthy", "baked 60 s: advancing to 50 %", Now.AddSeconds(61)), advanced);

        var second = Measured(Fine, step: 1);
        var promoted = new RolloutPromoted("rec", R2, 2, Agent, Now.AddSeconds(122));
        Analyze([.. CanaryOfV2, advanced], second, Now.AddSeconds(122))
            .ThenEvents(Recorded(second, "healthy", "baked 60 s: promoting", Now.AddSeconds(122)), promoted);

        var state = Given<EndpointState>([.. CanaryOfV2, advanced, promoted])!;
        state.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(2, 100)]);
        state.Rollouts[^1].ShouldBe(new RolloutOutcome(R2, 2, RolloutKind.Canary, "promoted", Agent, Now, Now.AddSeconds(122), null));
    }

    [Fact]
    public void Given_a_healthy_canary_When_its_step_has_not_baked_yet_Then_it_is_baking_and_stays()
    {
        var fact = Measured(Fine);
        Analyze(CanaryOfV2, fact, Now.AddSeconds(20)).ThenEvents(Recorded(fact, "baking", "baked 20 of 60 s", Now.AddSeconds(20)));
    }

    [Fact]
    public void Given_an_advanced_canary_When_measured_Then_its_bake_counts_from_the_advance_not_the_start()
    {
        var advanced = new RolloutStepAdvanced("rec", R2, 1, 50, Now.AddSeconds(100));
        var fact = Measured(Fine, step: 1);
        Analyze([.. CanaryOfV2, advanced], fact, Now.AddSeconds(130)).ThenEvents(Recorded(fact, "baking", "baked 30 of 60 s", Now.AddSeconds(130)));
    }

    [Fact]
    public void Given_too_few_canary_requests_When_measured_long_after_the_bake_Then_it_waits_even_with_errors()
    {
        var fact = Measured(new VersionMetrics(49, 49, 900));
        Analyze(CanaryOfV2, fact, Now.AddHours(1)).ThenEvents(Recorded(fact, "too_few_samples", "49 of 50 canary requests", Now.AddHours(1)));
    }

    [Fact]
    public void Given_a_canary_without_traffic_When_its_progress_deadline_passes_Then_it_is_rolled_back_as_stalled_and_traffic_returns_to_stable()
    {
        var quiet = Measured(new VersionMetrics(2, 0, 10));
        var history = CanaryOfV2With(RolloutAnalysis.Default with { ProgressDeadline = 3 }).ToList();
        for (var i = 1; i <= 2; i++) // two measurements in a row without enough requests: it waits
        {
            var waited = Analyze([.. history], quiet, Now.AddSeconds(5 * i));
            waited.ThenEvents(Recorded(quiet, "too_few_samples", "2 of 50 canary requests", Now.AddSeconds(5 * i)));
            history.AddRange(waited);
        }
        Given<EndpointState>([.. history])!.IdleAnalyses.ShouldBe(2);

        var stalled = "no progress: 2 of 50 canary requests after 3 measurements (about 15 s) at step 1; a canary without traffic cannot be judged";
        var third = Analyze([.. history], quiet, Now.AddSeconds(15));

        third.ThenEvents(Recorded(quiet, "stalled", stalled, Now.AddSeconds(15)), new CanaryRolledBack("rec", R2, 2, stalled, Agent, Now.AddSeconds(15)));
        var after = Given<EndpointState>([.. history, .. third])!;
        (after.Rollout, after.Traffic.Select(t => (t.Version, t.Weight)).Single()).ShouldBe((null, (1, 100)));
    }

    [Fact]
    public void Given_a_canary_whose_traffic_comes_back_When_measured_Then_the_deadline_starts_over_and_a_deadline_of_0_waits_forever()
    {
        var quiet = Measured(new VersionMetrics(2, 0, 10));
        var baking = Measured(Fine);
        var history = CanaryOfV2With(RolloutAnalysis.Default with { ProgressDeadline = 2 }).ToList();
        history.AddRange(Analyze([.. history], quiet, Now.AddSeconds(5)));
        history.AddRange(Analyze([.. history], baking, Now.AddSeconds(10)));

        Given<EndpointState>([.. history])!.IdleAnalyses.ShouldBe(0);
        Analyze([.. history], quiet, Now.AddSeconds(15)).Single().ShouldBeOfType<RolloutAnalysisRecorded>().Verdict.ShouldBe("too_few_samples");
        var forever = CanaryOfV2With(RolloutAnalysis.Default with { ProgressDeadline = 0 }).ToList();
        for (var i = 1; i <= 5; i++) forever.AddRange(Analyze([.. forever], quiet, Now.AddSeconds(5 * i)));
        Given<EndpointState>([.. forever])!.IdleAnalyses.ShouldBe(5);
    }

    [Theory]
    [InlineData(500, 155, 12.5, 11.0, null, "canary error rate 31.0 % > 5.0 %")]
    [InlineData(500, 0, 212, 200, 150.0, "canary p95 212 ms > 150 ms")]
    [InlineData(500, 0, 212, 3.1, null, "canary p95 212 ms > 2 × stable 3.1 ms (floor 5 ms)")]
    [InlineData(500, 0, 41, 20, null, "canary p95 41 ms > 2 × stable 20 ms")]
    public void Given_a_canary_When_it_breaches_a_limit_Then_it_is_rolled_back_at_once_with_the_reason(
        long requests, long errors, double p95, double stableP95, double? maxP95, string reason)
    {
        var given = CanaryOfV2With(RolloutAnalysis.Default with { MaxP95Ms = maxP95 });
        var fact = Measured(new VersionMetrics(requests, errors, p95), Stable with { P95Ms = stableP95 });
        var rolledBack = new CanaryRolledBack("rec", R2, 2, reason, Agent, Now.AddSeconds(5));

        Analyze(given, fact, Now.AddSeconds(5)).ThenEvents(Recorded(fact, "breach", reason, Now.AddSeconds(5)), rolledBack);

        var state = Given<EndpointState>([.. given, rolledBack])!;
        state.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(1, 100)]);
        state.Rollout.ShouldBeNull();
        state.Rollouts[^1].ShouldBe(new RolloutOutcome(R2, 2, RolloutKind.Canary, "rolled back", Agent, Now, Now.AddSeconds(5), reason));
        state.Served.Single(p => p.Version == 2).To.ShouldBe(Now.AddSeconds(5));
        state.Desired(DriftPolicy.Default, new Dictionary<int, ArtifactRef>()).ShouldSatisfyAllConditions(
            d => d.Versions.Select(v => (v.Version, v.Weight)).ShouldBe([(1, 100)]),
            d => d.Canary.ShouldBeNull(),
            d => d.Revision.ShouldBe(Given<EndpointState>(given)!.Revision + 1));
    }

    [Fact]
    public void Given_a_stable_version_under_the_p95_floor_When_the_canary_stays_under_ratio_times_the_floor_Then_it_is_healthy()
    {
        var fact = Measured(Fine with { P95Ms = 9.9 }, Stable with { P95Ms = 0.8 });
        Analyze(CanaryOfV2, fact, Now.AddSeconds(5)).ThenEvents(Recorded(fact, "baking", "baked 5 of 60 s", Now.AddSeconds(5)));
    }

    [Fact]
    public void Given_a_stable_version_without_requests_When_the_canary_is_slow_Then_the_ratio_does_not_apply()
    {
        var fact = Measured(Fine with { P95Ms = 500 }, new VersionMetrics(0, 0, 0));
        Analyze(CanaryOfV2, fact, Now.AddSeconds(5)).ThenEvents(Recorded(fact, "baking", "baked 5 of 60 s", Now.AddSeconds(5)));
    }

    [Fact]
    public void Given_a_canary_When_a_measurement_of_another_step_or_rollout_arrives_Then_it_is_stale_and_ignored()
    {
        Analyze(CanaryOfV2, Measured(Fine, step: 1), Now.AddSeconds(61)).ThenEvents();
        Analyze(CanaryOfV2, Measured(Fine, rollout: R1), Now.AddSeconds(61)).ThenEvents();
        Analyze(ServingV1, Measured(Fine), Now.AddSeconds(61)).ThenEvents();
    }

    [Fact]
    public void Given_analysis_records_When_the_operator_aborts_Then_the_abort_still_wins()
    {
        var fact = Measured(Fine);
        object[] history = [.. CanaryOfV2, Recorded(fact, "baking", "baked 5 of 60 s", Now.AddSeconds(5))];
        EndpointDecisions.Abort(Given<EndpointState>(history), new AbortRollout(Guid.NewGuid(), "rec", "enough"), "olga", Now.AddSeconds(6))
            .ThenEvents(new RolloutAborted("rec", R2, 2, "enough", "olga", Now.AddSeconds(6)));
        Given<EndpointStatus>(history)!.RecentAnalysis!.Single().Verdict.ShouldBe("baking");
    }

    [Fact]
    public void Given_a_canary_in_flight_When_its_desired_state_is_asked_Then_the_work_order_carries_the_step_and_limits()
    {
        var advanced = new RolloutStepAdvanced("rec", R2, 1, 50, Now.AddSeconds(61));
        var desired = Given<EndpointState>([.. CanaryOfV2, advanced])!.Desired(DriftPolicy.Default, new Dictionary<int, ArtifactRef>());
        desired.Canary.ShouldBe(new CanaryAnalysisOrder(R2, 1, 2, 1, new CanaryStep(50, 60), RolloutAnalysis.Default));
        desired.Versions.Select(v => (v.Version, v.Weight)).ShouldBe([(1, 50), (2, 50)]);
        desired.Deleted.ShouldBeFalse();
    }

    [Fact]
    public void Given_a_canary_started_before_analysis_existed_When_rebuilt_Then_the_default_limits_apply() =>
        Given<EndpointState>([.. ServingV1, ((RolloutStarted)CanaryOfV2[^1]) with { Analysis = null }])!.Rollout!.Analysis.ShouldBe(RolloutAnalysis.Default);

    [Theory]
    [InlineData(0, 50, 0.05, null, 2.0, "strategy.analysis.intervalSeconds")]
    [InlineData(3601, 50, 0.05, null, 2.0, "strategy.analysis.intervalSeconds")]
    [InlineData(5, 0, 0.05, null, 2.0, "strategy.analysis.minRequests")]
    [InlineData(5, 50, 1.5, null, 2.0, "strategy.analysis.maxErrorRate")]
    [InlineData(5, 50, -0.1, null, 2.0, "strategy.analysis.maxErrorRate")]
    [InlineData(5, 50, 0.05, 0.0, 2.0, "strategy.analysis.maxP95Ms")]
    [InlineData(5, 50, 0.05, null, 0.5, "strategy.analysis.maxP95Ratio")]
    public void Given_a_canary_When_its_analysis_is_out_of_range_Then_the_field_is_named(
        int interval, int minRequests, double maxErrorRate, double? maxP95Ms, double maxP95Ratio, string field)
    {
        var strategy = Canary with { Analysis = new RolloutAnalysis(interval, minRequests, maxErrorRate, maxP95Ms, maxP95Ratio) };
        ThenRefused<InvalidField>(() => EndpointDecisions.RollOut(Given<EndpointState>(ServingV1), Version(2),
            new RollOut(Guid.NewGuid(), "rec", 2, strategy), R2, "olga", Now), field);
    }

    [Fact]
    public void Given_a_canary_with_its_own_limits_When_rolled_out_Then_they_are_recorded_with_the_rollout()
    {
        var analysis = new RolloutAnalysis(2, 10, 0.01, 250, 1.5);
        EndpointDecisions.RollOut(Given<EndpointState>(ServingV1), Version(2), new RollOut(Guid.NewGuid(), "rec", 2, Canary with { Analysis = analysis }), R2,
            "olga", Now).ThenEvents(CanaryOfV2With(analysis)[^1]);
    }
}
