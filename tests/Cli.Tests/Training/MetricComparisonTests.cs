using EventMlOps.Cli.Training;

namespace EventMlOps.Cli.Tests.Training;

public sealed class MetricComparisonTests
{
    private static MetricDifference Only(IReadOnlyDictionary<string, double> original, IReadOnlyDictionary<string, double> reproduction, double tolerance = 1e-6) =>
        MetricComparison.Compare(original, reproduction, tolerance).ShouldHaveSingleItem();

    [Fact]
    public void Given_equal_values_When_compared_Then_both_differences_are_0_and_within() =>
        Only(new Dictionary<string, double> { ["hr@10"] = 0.42 }, new Dictionary<string, double> { ["hr@10"] = 0.42 })
            .ShouldBe(new MetricDifference("hr@10", 0.42, 0.42, 0, 0, Judged: true, Within: true));

    [Theory]
    [InlineData(0.5, 0.5000004, 1e-6, true)]
    [InlineData(0.5, 0.5000006, 1e-6, false)]
    [InlineData(0.5, 0.505, 1e-2, true)]
    [InlineData(-2.0, -2.1, 1e-2, false)]
    public void Given_two_values_When_compared_Then_the_relative_difference_is_over_the_larger_magnitude(double a, double b, double tolerance, bool within)
    {
        var d = Only(new Dictionary<string, double> { ["loss"] = a }, new Dictionary<string, double> { ["loss"] = b }, tolerance);

        d.Absolute!.Value.ShouldBe(Math.Abs(a - b), 1e-15);
        d.Relative!.Value.ShouldBe(Math.Abs(a - b) / Math.Max(Math.Abs(a), Math.Abs(b)), 1e-15);
        d.Within.ShouldBe(within);
    }

    [Fact]
    public void Given_0_and_a_tiny_value_When_compared_Then_the_relative_difference_is_1_not_infinite() =>
        Only(new Dictionary<string, double> { ["fpr"] = 0 }, new Dictionary<string, double> { ["fpr"] = 1e-9 }).ShouldSatisfyAllConditions(
            d => d.Relative.ShouldBe(1), d => d.Within.ShouldBeFalse());

    [Fact]
    public void Given_a_wall_clock_time_that_differs_When_compared_Then_it_is_shown_but_not_judged() =>
        Only(new Dictionary<string, double> { ["train_seconds"] = 1.5 }, new Dictionary<string, double> { ["train_seconds"] = 3 })
            .ShouldSatisfyAllConditions(d => d.Judged.ShouldBeFalse(), d => d.Within.ShouldBeTrue(), d => d.Absolute.ShouldBe(1.5));

    [Fact]
    public void Given_metrics_only_one_run_reported_When_compared_Then_they_are_not_within_and_all_are_listed_by_name_times_last() =>
        MetricComparison.Compare(new Dictionary<string, double> { ["tpr"] = 0.9, ["total_seconds"] = 2, ["auc"] = 0.95 },
                new Dictionary<string, double> { ["auc"] = 0.95, ["f1"] = 0.8, ["total_seconds"] = 2 }, 1e-6)
            .ShouldBe([
                new MetricDifference("auc", 0.95, 0.95, 0, 0, Judged: true, Within: true),
                new MetricDifference("f1", null, 0.8, null, null, Judged: true, Within: false),
                new MetricDifference("tpr", 0.9, null, null, null, Judged: true, Within: false),
                new MetricDifference("total_seconds", 2, 2, 0, 0, Judged: false, Within: true),
            ]);
}
