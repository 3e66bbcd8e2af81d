using EventMlOps.Training.Anomaly;

namespace EventMlOps.Training.Tests.Anomaly;

public class DetectionTests
{
    [Fact]
    public void Given_100_normal_scores_When_the_threshold_is_chosen_for_5_percent_Then_exactly_5_are_flagged()
    {
        var normal = Enumerable.Range(1, 100).Select(i => (double)i).Reverse().ToList();

        var threshold = Detection.Threshold(normal, 0.05);

        threshold.ShouldBe(95);
        normal.Count(s => s > threshold).ShouldBe(5);
    }

    [Theory]
    [InlineData(0.0, 100)]
    [InlineData(0.004, 100)]
    [InlineData(0.01, 99)]
    [InlineData(0.5, 50)]
    [InlineData(1.0, 1)]
    public void Given_a_target_fpr_When_the_threshold_is_chosen_Then_at_most_that_share_of_normal_scores_is_above_it(double target, double expected)
    {
        var normal = Enumerable.Range(1, 100).Select(i => (double)i).ToList();

        var threshold = Detection.Threshold(normal, target);

        threshold.ShouldBe(expected);
        (normal.Count(s => s > threshold) / 100.0).ShouldBeLessThanOrEqualTo(target);
    }

    [Fact]
    public void Given_scores_and_labels_When_classified_Then_the_confusion_counts_and_rates_follow()
    {
        double[] scores = [0.1, 0.9, 0.8, 0.3, 0.7, 0.2];
        bool[] anomalous = [false, true, true, true, false, false];

        var c = Detection.Classify(scores, anomalous, 0.5);

        c.ShouldBe(new Confusion(TruePositives: 2, FalsePositives: 1, TrueNegatives: 2, FalseNegatives: 1));
        c.Tpr.ShouldBe(2.0 / 3);
        c.Fpr.ShouldBe(1.0 / 3);
        c.Precision.ShouldBe(2.0 / 3);
        c.Recall.ShouldBe(c.Tpr);
    }

    [Fact]
    public void Given_hand_checkable_scores_When_the_roc_auc_is_computed_Then_it_is_the_share_of_correctly_ordered_pairs()
    {
        // pairs (anomalous, normal): (0.35, 0.1) ✓ (0.35, 0.4) ✗ (0.8, 0.1) ✓ (0.8, 0.4) ✓ → 3/4
        Detection.RocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]).ShouldBe(0.75);
        Detection.RocAuc([0.1, 0.2, 0.3, 0.4], [false, false, true, true]).ShouldBe(1);
        Detection.RocAuc([0.1, 0.2, 0.3, 0.4], [true, true, false, false]).ShouldBe(0);
        Detection.RocAuc([0.5, 0.5, 0.5, 0.5], [true, false, true, false]).ShouldBe(0.5, "ties count half");
    }

    [Fact]
    public void Given_scores_When_the_tpr_at_an_fpr_is_read_from_the_roc_curve_Then_it_is_the_best_tpr_within_that_fpr()
    {
        // 20 normal windows scoring 1..20, 4 anomalous scoring 25, 19.5, 18.5, 3
        var scores = Enumerable.Range(1, 20).Select(i => (double)i).Concat([25, 19.5, 18.5, 3]).ToList();
        var anomalous = Enumerable.Repeat(false, 20).Concat([true, true, true, true]).ToList();

        Detection.TprAtFpr(scores, anomalous, 0.05).ShouldBe(0.5, "one false positive (20) allowed: 25 and 19.5 caught");
        Detection.TprAtFpr(scores, anomalous, 0.10).ShouldBe(0.75);
        Detection.TprAtFpr(scores, anomalous, 0.0).ShouldBe(0.25);
    }
}
