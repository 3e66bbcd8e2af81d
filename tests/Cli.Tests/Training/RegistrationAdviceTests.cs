using EventMlOps.Cli.Training;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Cli.Tests.Training;

/// <summary>A run the registration policy blocks is shown with what to do next for its gate and the explicit override:
/// the policy's real verdicts on runs with the metrics that trip each gate.</summary>
public sealed class RegistrationAdviceTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);
    private static readonly Guid Run = Guid.Parse("3f2b9c1e-0000-4000-8000-000000000001"), Data = Guid.Parse("9d920e47-0000-4000-8000-000000000002");

    private static string? Advice(string kind, Dictionary<string, double> metrics)
    {
        var run = TrainingRun.Create(new TrainingRunRequested(Run, "sensors", kind, Data, "file:///d", new string('a', 64),
                new Dictionary<string, double> { ["epochs"] = 15 }, new TrainingResources(), "git:1", "alice", Now))
            .Apply(new TrainingRunSucceeded(Run, "file:///m", new string('b', 64), metrics, Now));
        var verdict = RegistrationPolicy.From(new ConfigurationBuilder().Build()).Judge(run with { Epochs = 15 });
        return RegistrationAdvice.For((run with { Epochs = 15, RegistrationBlocked = verdict.BlockedBecause }).ToView(null, null));
    }

    private const string Override = "; or register it anyway (your decision, recorded under your name; an approver still decides Production): " +
                                    "./emo versions register sensors --run 3f2b9c1e-0000-4000-8000-000000000001";

    [Fact]
    public void Given_a_detector_below_the_tpr_floor_When_shown_Then_it_says_to_train_longer_with_the_command_and_how_to_override() =>
        Advice("anomaly", new() { ["tpr"] = 0.5, ["fpr_vs_target"] = 1 }).ShouldBe(
            "next: train longer (./emo train anomaly --model sensors --dataset 9d920e47-0000-4000-8000-000000000002 --epochs 30)" + Override);

    [Fact]
    public void Given_a_detector_whose_threshold_did_not_hold_When_shown_Then_it_suggests_window_centring_or_another_validation_period() =>
        Advice("anomaly", new() { ["tpr"] = 0.95, ["fpr_vs_target"] = 12.9 }).ShouldBe(
            "next: the threshold did not hold on the later data: if the readings' level shifted, train centred per window " +
            "(./emo train anomaly --model sensors --dataset 9d920e47-0000-4000-8000-000000000002 --epochs 30 --param normalisation=window), " +
            "or validate on a period like what follows (--param train_until=… --param validate_until=…)" + Override);

    [Fact]
    public void Given_a_detector_a_z_score_matches_When_shown_Then_it_says_so() =>
        Advice("anomaly", new()
        {
            ["tpr"] = 0.95, ["fpr_vs_target"] = 1, ["events_detected"] = 5, ["zscore_events_detected"] = 5, ["false_episodes_per_day"] = 3,
            ["zscore_false_episodes_per_day"] = 1,
        })!.ShouldStartWith("next: the detector adds nothing over a rolling z-score here: train longer or on more data (./emo train anomaly");

    [Fact]
    public void Given_a_run_that_passed_When_shown_Then_there_is_no_advice() =>
        Advice("anomaly", new() { ["tpr"] = 0.95, ["fpr_vs_target"] = 1 }).ShouldBeNull();
}
