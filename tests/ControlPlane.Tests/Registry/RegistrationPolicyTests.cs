using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Tests.Lineage;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.Training;

namespace EventMlOps.ControlPlane.Tests.Registry;

/// <summary>A succeeded run is registered by the policy unless the model opted out or its quality gate blocks it.</summary>
public class RegistrationPolicyTests(ControlPlaneFixture fx)
{
    private static readonly RegistrationPolicy Policy = new(true, new Dictionary<string, bool> { ["manual"] = false }, 0.8);

    private static TrainingRun Run(string model, string kind, params (string Key, double Value)[] metrics) =>
        new($"run:{Guid.Empty:N}", Guid.NewGuid(), model, kind, Guid.NewGuid(), new string('a', 64), new Dictionary<string, double>(),
            new TrainingResources(), "dev", "alice", DateTimeOffset.UnixEpoch, RunStatus.Succeeded,
            Metrics: metrics.ToDictionary(m => m.Key, m => m.Value));

    [Fact]
    public void Given_a_recommender_beating_its_baseline_When_judged_Then_registered() =>
        Policy.Judge(Run("rec", "recommender", ("hr@10", 0.6), ("baseline_hr@10", 0.3))).ShouldBe(new RegistrationPolicy.Verdict(true, null));

    [Fact]
    public void Given_a_recommender_not_beating_its_baseline_When_judged_Then_blocked_with_both_numbers() =>
        Policy.Judge(Run("rec", "recommender", ("hr@10", 0.3), ("baseline_hr@10", 0.3))).BlockedBecause!.ShouldContain("hr@10 0.3 does not beat the popularity baseline 0.3");

    [Fact]
    public void Given_a_recommender_without_a_baseline_When_judged_Then_blocked() =>
        Policy.Judge(Run("rec", "recommender", ("hr@10", 0.9))).BlockedBecause!.ShouldContain("baseline_hr@10");

    [Fact]
    public void Given_an_anomaly_detector_below_the_tpr_floor_When_judged_Then_blocked() =>
        Policy.Judge(Run("sensors", "anomaly", ("tpr", 0.7))).BlockedBecause!.ShouldContain("below the floor 0.8");

    [Fact]
    public void Given_a_detector_whose_threshold_did_not_hold_When_judged_Then_blocked_with_the_realised_multiple() =>
        Policy.Judge(Run("sensors", "anomaly", ("tpr", 0.9), ("fpr_vs_target", 3.8))).BlockedBecause!
            .ShouldBe("quality gate: the false-positive rate on the test part is 3.8× its target (at most 3×): the threshold chosen on the validation part does not hold later");

    [Theory]
    [InlineData("no fpr_vs_target")]
    [InlineData("no rolling z-score")]
    public void Given_a_detector_whose_run_left_a_comparison_out_When_judged_Then_blocked_rather_than_passed(string missing) =>
        Policy.Judge(missing == "no fpr_vs_target"
                ? Run("sensors", "anomaly", ("tpr", 0.9))
                : Run("sensors", "anomaly", ("tpr", 0.9), ("fpr_vs_target", 1), ("events_detected", 5), ("false_episodes_per_day", 2)))
            .BlockedBecause!.ShouldContain(missing == "no fpr_vs_target" ? "reported no fpr_vs_target" : "no rolling z-score to compare them with");

    [Fact]
    public void Given_a_detector_whose_realised_rate_wanders_as_on_a_short_test_part_When_judged_Then_registered() =>
        Policy.Judge(Run("sensors", "anomaly", ("tpr", 0.9), ("fpr_vs_target", 1.48))).ShouldBe(new RegistrationPolicy.Verdict(true, null));

    [Fact]
    public void Given_a_detector_a_rolling_z_score_matches_When_judged_Then_blocked_with_both_sets_of_numbers() =>
        Policy.Judge(Run("sensors", "anomaly", ("tpr", 0.9), ("fpr_vs_target", 1), ("events_detected", 12), ("zscore_events_detected", 12),
                ("false_episodes_per_day", 4.5), ("zscore_false_episodes_per_day", 0.8))).BlockedBecause!
            .ShouldBe("quality gate: a rolling z-score on the same data does as well — it detects 12 labelled events against the model's 12, with 0.8 false episodes a day against 4.5");

    [Fact]
    public void Given_a_detector_finding_more_events_than_the_z_score_When_judged_Then_registered_despite_more_false_episodes() =>
        Policy.Judge(Run("sensors", "anomaly", ("tpr", 0.9), ("fpr_vs_target", 1), ("events_detected", 17), ("zscore_events_detected", 14),
            ("false_episodes_per_day", 6.1), ("zscore_false_episodes_per_day", 1.1))).ShouldBe(new RegistrationPolicy.Verdict(true, null));

    [Fact]
    public void Given_a_reproduction_beating_its_baseline_When_judged_Then_blocked_as_a_check_of_its_original()
    {
        var original = Guid.NewGuid();
        Policy.Judge(Run("rec", "recommender", ("hr@10", 0.6), ("baseline_hr@10", 0.3)) with { ReproducedFrom = original })
            .ShouldBe(new RegistrationPolicy.Verdict(false,
                $"a reproduction of run {original:N} checks that run; it is not registered as a new version (register it by hand if wanted)"));
    }

    [Fact]
    public void Given_a_model_that_opted_out_When_judged_Then_left_alone_without_a_reason() =>
        Policy.Judge(Run("manual", "recommender", ("hr@10", 0.9), ("baseline_hr@10", 0.1))).ShouldBe(new RegistrationPolicy.Verdict(false, null));

    [Fact]
    public async Task Given_opted_in_models_When_runs_succeed_Then_good_ones_are_registered_and_bad_ones_blocked_with_the_reason()
    {
        var rec = new Scenario(fx, AutoRegistered.Recommender);
        await rec.RegisterDataset();
        var good = await rec.TrainedRun(new Dictionary<string, double> { ["hr@10"] = 0.62, ["baseline_hr@10"] = 0.35 });
        var bad = await rec.TrainedRun(new Dictionary<string, double> { ["hr@10"] = 0.30, ["baseline_hr@10"] = 0.35 });
        var sensors = new Scenario(fx, AutoRegistered.Anomaly, trainer: "anomaly");
        await sensors.RegisterDataset();
        var weak = await sensors.TrainedRun(new Dictionary<string, double> { ["tpr"] = 0.5, ["fpr"] = 0.05 });

        TrainingRunView? goodRun = null, badRun = null, weakRun = null;
        (await LifecycleTests.Eventually(async () =>
        {
            goodRun = await rec.Viewer.Get<TrainingRunView>($"/api/runs/{good}");
            badRun = await rec.Viewer.Get<TrainingRunView>($"/api/runs/{bad}");
            weakRun = await rec.Viewer.Get<TrainingRunView>($"/api/runs/{weak}");
            return goodRun.RegisteredVersion is not null && badRun.RegistrationBlocked is not null && weakRun.RegistrationBlocked is not null;
        })).ShouldBeTrue("the policy acted on all three runs");

        var version = await rec.Viewer.Get<ModelVersionView>($"/api/models/{AutoRegistered.Recommender}/versions/{goodRun!.RegisteredVersion}");
        version.RegisteredBy.ShouldBe(RegistrationPolicy.Actor);
        version.RunId.ShouldBe(good);
        badRun!.RegisteredVersion.ShouldBeNull();
        badRun.RegistrationBlocked!.ShouldContain("does not beat");
        weakRun!.RegistrationBlocked!.ShouldContain("tpr 0.5");
        // A blocked run can still be registered by a person who decides to.
        (await rec.RegisteredVersion(bad)).ShouldBe(goodRun.RegisteredVersion!.Value + 1);
    }
}
