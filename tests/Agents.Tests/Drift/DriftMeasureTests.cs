using EventMlOps.Agents.Drift;
using EventMlOps.Contracts.Drift;

namespace EventMlOps.Agents.Tests.Drift;

/// <summary>Which test a feature gets — the policy's, else Evidently's defaults — and the score it reports.</summary>
public class DriftMeasureTests
{
    private static readonly double[] Hundred = Enumerable.Range(0, 100).Select(v => (double)v).ToArray();

    private static FeatureReference Reference(double[] values, long? count = null, double std = 1, bool categorical = false) =>
        new("x", FeatureRole.Input, count ?? values.Length, std, values, categorical);

    [Fact]
    public void Given_a_small_numeric_reference_When_scored_by_default_Then_KS_gives_its_p_value()
    {
        double[] current = [50, 60, 70, 80, 90, 95, 99];

        var score = DriftMeasure.Score(Reference(Hundred), current, DriftPolicy.Default);

        score.ShouldBe(new FeatureScore("x", FeatureRole.Input, DriftMethod.KolmogorovSmirnov, DriftStatistics.KolmogorovSmirnov(Hundred, current).PValue, 7));
    }

    [Fact]
    public void Given_a_small_reference_with_at_most_5_distinct_values_over_both_samples_When_scored_by_default_Then_chi_squared()
    {
        double[] reference = [1, 1, 2, 3, 3];
        DriftMeasure.Score(Reference(reference), [1, 2, 2, 4, 5], DriftPolicy.Default).Method.ShouldBe(DriftMethod.ChiSquared, "5 distinct values");
        DriftMeasure.Score(Reference(reference), [1, 2, 4, 5, 6], DriftPolicy.Default).Method.ShouldBe(DriftMethod.KolmogorovSmirnov, "6 distinct with the current's");
        DriftMeasure.Score(Reference(Hundred, categorical: true), [1, 2, 4, 5, 6], DriftPolicy.Default).Method.ShouldBe(DriftMethod.ChiSquared, "marked categorical");
    }

    [Fact]
    public void Given_a_reference_of_more_than_1000_training_values_When_scored_by_default_Then_normalised_Wasserstein_or_Jensen_Shannon()
    {
        // the sketch holds 100 quantiles here, but the training data had 5,000 values with std 4
        var large = Reference(Hundred, count: 5000, std: 4);
        double[] current = [10, 20, 30, 40, 50, 60];

        var numeric = DriftMeasure.Score(large, current, DriftPolicy.Default);
        var categorical = DriftMeasure.Score(large with { Categorical = true }, current, DriftPolicy.Default);
        var few = DriftMeasure.Score(Reference([0, 0, 1, 1], count: 1001), [0, 1, 1], DriftPolicy.Default);

        numeric.ShouldBe(new FeatureScore("x", FeatureRole.Input, DriftMethod.Wasserstein, DriftStatistics.Wasserstein(Hundred, current) / 4, 6));
        categorical.ShouldBe(new FeatureScore("x", FeatureRole.Input, DriftMethod.JensenShannon, DriftStatistics.JensenShannon(Hundred, current, true), 6));
        few.Method.ShouldBe(DriftMethod.JensenShannon, "two distinct values are categories");
        DriftMeasure.Score(Reference(Hundred, count: 1000), current, DriftPolicy.Default).Method.ShouldBe(DriftMethod.KolmogorovSmirnov, "1,000 is still small");
    }

    [Fact]
    public void Given_a_policy_naming_a_test_for_the_feature_When_scored_Then_that_test_is_used_and_Auto_keeps_the_default()
    {
        double[] current = [5, 6, 7];
        var psi = new DriftPolicy(Features: new Dictionary<string, DriftTest> { ["x"] = new(DriftMethod.Psi, 0.2) });
        var auto = new DriftPolicy(Features: new Dictionary<string, DriftTest> { ["x"] = new(DriftMethod.Auto, 0.2) });
        var other = new DriftPolicy(Features: new Dictionary<string, DriftTest> { ["y"] = new(DriftMethod.ChiSquared, 0.01) });

        DriftMeasure.Score(Reference(Hundred), current, psi).ShouldBe(new FeatureScore("x", FeatureRole.Input, DriftMethod.Psi, DriftStatistics.Psi(Hundred, current, false), 3));
        DriftMeasure.Score(Reference(Hundred), current, auto).Method.ShouldBe(DriftMethod.KolmogorovSmirnov);
        DriftMeasure.Score(Reference(Hundred), current, other).Method.ShouldBe(DriftMethod.KolmogorovSmirnov);
    }

    [Fact]
    public void Given_unsorted_current_values_with_NaN_and_infinities_When_scored_Then_only_the_finite_ones_are_measured_and_counted()
    {
        var score = DriftMeasure.Score(Reference(Hundred), [99, double.NaN, 3, double.PositiveInfinity, 50, double.NegativeInfinity], DriftPolicy.Default);

        score.Samples.ShouldBe(3);
        score.Score.ShouldBe(DriftStatistics.KolmogorovSmirnov(Hundred, [3, 50, 99]).PValue);
    }

    [Fact]
    public void Given_no_finite_current_value_When_scored_Then_it_is_refused()
    {
        Should.Throw<ArgumentException>(() => DriftMeasure.Score(Reference(Hundred), [], DriftPolicy.Default));
        Should.Throw<ArgumentException>(() => DriftMeasure.Score(Reference(Hundred), [double.NaN], DriftPolicy.Default)).Message.ShouldContain("no finite value");
    }
}
