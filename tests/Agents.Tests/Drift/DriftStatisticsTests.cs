using EventMlOps.Agents.Drift;

namespace EventMlOps.Agents.Tests.Drift;

/// <summary>Each statistic against values computed without our code: SciPy's documented examples (inputs and outputs
/// printed in its docstrings), published tables of the Kolmogorov distribution, closed forms of the chi-squared tail
/// for 2 and 4 degrees of freedom, and small cases worked by hand (the arithmetic beside each constant).</summary>
public class DriftStatisticsTests
{
    private const double Tolerance = 1e-12;

    [Theory]
    // Kolmogorov distribution K(λ) = P(√n·D ≤ λ), tables of Smirnov (1948) and Massey (1951): K(0.5) = 0.0361,
    // K(1.0) = 0.7300, and its upper quantiles 1.22385 (α = 0.10), 1.35810 (0.05), 1.62762 (0.01), 1.94947 (0.001).
    [InlineData(0.5, 1 - 0.0361, 5e-5)]
    [InlineData(1.0, 1 - 0.7300, 5e-5)]
    [InlineData(1.22385, 0.10, 1e-5)]
    [InlineData(1.35810, 0.05, 1e-5)]
    [InlineData(1.62762, 0.01, 1e-6)]
    [InlineData(1.94947, 0.001, 1e-6)]
    public void Given_the_published_Kolmogorov_table_When_the_tail_is_computed_Then_it_matches(double lambda, double survival, double tolerance) =>
        DriftStatistics.KolmogorovSurvival(lambda).ShouldBe(survival, tolerance);

    [Fact]
    public void Given_the_two_series_of_the_Kolmogorov_tail_When_they_meet_at_one_Then_they_agree_and_the_tail_falls() =>
        DriftStatistics.KolmogorovSurvival(1 - 1e-12).ShouldBe(DriftStatistics.KolmogorovSurvival(1), 1e-11);

    [Fact]
    public void Given_two_samples_When_KS_is_computed_Then_D_is_the_largest_gap_of_the_empirical_CDFs_and_p_its_asymptotic_tail()
    {
        // ref {1,2,3,4}, cur {3,4,5,6}: F_ref − F_cur at 1: .25−0, 2: .5−0, 3: .75−.25, 4: 1−.5, 5: 1−.75 → D = 0.5;
        // λ = √(4·4/8)·0.5 = √2/2.
        var (d, p) = DriftStatistics.KolmogorovSmirnov([1, 2, 3, 4], [3, 4, 5, 6]);
        d.ShouldBe(0.5, Tolerance);
        p.ShouldBe(DriftStatistics.KolmogorovSurvival(Math.Sqrt(2) / 2), Tolerance);
        p.ShouldBe(0.69937, 1e-5, "K(0.7071) = 0.3006 in the tables");
        // ties: ref {1,1,2}, cur {1,2,2}: at 1: 2/3 − 1/3; at 2: 1 − 1 → D = 1/3.
        DriftStatistics.KolmogorovSmirnov([1, 1, 2], [1, 2, 2]).Statistic.ShouldBe(1.0 / 3, Tolerance);
    }

    [Fact]
    public void Given_identical_or_disjoint_samples_When_KS_is_computed_Then_D_is_0_with_p_1_or_D_is_1_with_the_tail_at_its_lambda()
    {
        DriftStatistics.KolmogorovSmirnov([1, 2, 3], [1, 2, 3]).ShouldBe((0, 1));
        // disjoint, 5 and 5 values: D = 1, λ = √(25/10) = 1.5811, K(1.58) ≈ 0.9865 in the tables.
        var (d, p) = DriftStatistics.KolmogorovSmirnov([1, 2, 3, 4, 5], [10, 11, 12, 13, 14]);
        d.ShouldBe(1);
        p.ShouldBe(0.013476, 1e-6);
    }

    [Fact]
    public void Given_SciPys_documented_example_When_the_Wasserstein_distance_is_computed_Then_it_is_5()
    {
        // scipy.stats.wasserstein_distance docstring: wasserstein_distance([0, 1, 3], [5, 6, 8]) → 5.0
        DriftStatistics.Wasserstein([0, 1, 3], [5, 6, 8]).ShouldBe(5.0, Tolerance);
        // ref {0,1}, cur {0,0,1,2}: |F_ref − F_cur| = |.5 − .5| on [0,1), |1 − .75| on [1,2) → 0.25
        DriftStatistics.Wasserstein([0, 1], [0, 0, 1, 2]).ShouldBe(0.25, Tolerance);
        DriftStatistics.Wasserstein([1, 2, 2, 7], [1, 2, 2, 7]).ShouldBe(0);
    }

    [Fact]
    public void Given_a_reference_std_When_the_distance_is_normalised_Then_it_is_divided_by_the_std_floored_at_a_thousandth()
    {
        // Evidently: wasserstein_distance(ref, cur) / max(np.std(ref), 0.001); np.std([0, 1, 3]) = √(14/9) = √14/3
        DriftStatistics.NormalisedWasserstein([0, 1, 3], [5, 6, 8], Math.Sqrt(14) / 3).ShouldBe(4.008918628686366, Tolerance);
        // a constant reference (std 0): the distance 1 over 0.001
        DriftStatistics.NormalisedWasserstein([2, 2, 2], [3], 0).ShouldBe(1000, 1e-9);
    }

    [Fact]
    public void Given_three_categories_When_chi_squared_is_computed_Then_p_is_the_closed_form_tail_for_2_degrees_of_freedom()
    {
        // ref counts {0: 5, 1: 3, 2: 2}, cur {0: 2, 1: 4, 2: 4}, same size → expected 5, 3, 2;
        // χ² = 9/5 + 1/3 + 4/2 = 4.1333…; with 2 degrees of freedom P(X > x) = e^(−x/2) = 0.1266071027890836
        var (statistic, p) = DriftStatistics.ChiSquared([0, 0, 0, 0, 0, 1, 1, 1, 2, 2], [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
        statistic.ShouldBe(9.0 / 5 + 1.0 / 3 + 2, Tolerance);
        p.ShouldBe(0.1266071027890836, Tolerance);
    }

    [Fact]
    public void Given_five_categories_and_a_larger_current_sample_When_chi_squared_is_computed_Then_reference_counts_are_scaled_and_p_is_the_4_df_closed_form()
    {
        // ref: 2 of each of 1..5 (10), cur: 1, 3, 5, 7, 4 (20) → expected 2·20/10 = 4 each;
        // χ² = (9 + 1 + 1 + 9 + 0)/4 = 5; with 4 degrees of freedom P(X > x) = e^(−x/2)(1 + x/2) = 3.5·e^(−2.5) = 0.2872974951836458
        double[] reference = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5];
        double[] current = [1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5];
        var (statistic, p) = DriftStatistics.ChiSquared(reference, current);
        statistic.ShouldBe(5, Tolerance);
        p.ShouldBe(0.2872974951836458, Tolerance);
    }

    [Fact]
    public void Given_identical_unseen_or_single_categories_When_chi_squared_is_computed_Then_p_is_1_0_or_1()
    {
        DriftStatistics.ChiSquared([0, 1, 1], [0, 1, 1]).ShouldBe((0, 1));
        DriftStatistics.ChiSquared([0, 0, 1], [0, 1, 2]).ShouldBe((double.PositiveInfinity, 0), "a category the reference never had");
        DriftStatistics.ChiSquared([0, 0], [0, 0, 0]).ShouldBe((0, 1), "one category in both: nothing can differ");
    }

    [Fact]
    public void Given_SciPys_documented_examples_When_the_Jensen_Shannon_distance_is_computed_Then_it_matches()
    {
        // scipy.spatial.distance.jensenshannon docstring: jensenshannon([1.0, 0.0], [0.5, 0.5]) → 0.46450140402245893
        DriftStatistics.JensenShannon([0, 0], [0, 1], categorical: true).ShouldBe(0.46450140402245893, Tolerance);
        // jensenshannon([1, 0, 0], [0, 1, 0], 2.0) → 1.0 in base 2, so √(ln 2) in the natural logarithm Evidently uses
        DriftStatistics.JensenShannon([1], [2], categorical: true).ShouldBe(Math.Sqrt(Math.Log(2)), Tolerance);
        DriftStatistics.JensenShannon([1, 2, 2], [1, 2, 2], categorical: true).ShouldBe(0);
    }

    [Fact]
    public void Given_a_numeric_reference_of_more_than_20_values_When_Jensen_Shannon_is_computed_Then_it_bins_both_into_30_equal_widths()
    {
        // ref 0..29, cur thirty times 28.5: edges k·29/30 over [0, 29]; each integer 0..28 lands alone in bins 0..28 and
        // 29 in the closed last bin [28.03, 29], as does 28.5 → p = 1/30 each, q = all in bin 29, m = p/2 but 31/60 there.
        // KL(p‖m) = (29/30)·ln 2 + (1/30)·ln(2/31), KL(q‖m) = ln(60/31), JS = √((KL(p‖m) + KL(q‖m))/2).
        var reference = Enumerable.Range(0, 30).Select(v => (double)v).ToArray();
        var current = Enumerable.Repeat(28.5, 30).ToArray();
        var expected = Math.Sqrt((29.0 / 30 * Math.Log(2) + Math.Log(2.0 / 31) / 30 + Math.Log(60.0 / 31)) / 2);
        DriftStatistics.JensenShannon(reference, current, categorical: false).ShouldBe(expected, Tolerance);
        DriftStatistics.JensenShannon(reference, current, categorical: true).ShouldBe(Math.Sqrt(Math.Log(2)), Tolerance, "as categories they are disjoint");
    }

    [Fact]
    public void Given_two_categories_When_PSI_is_computed_Then_it_is_the_sum_of_share_differences_times_their_log_ratio()
    {
        // shares ref (.5, .5), cur (.8, .2): (.5 − .8)·ln(.5/.8) + (.5 − .2)·ln(.5/.2) = .3·ln 4
        DriftStatistics.Psi([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1], categorical: true).ShouldBe(0.3 * Math.Log(4), Tolerance);
        DriftStatistics.Psi([3, 4, 4], [3, 4, 4], categorical: true).ShouldBe(0);
    }

    [Fact]
    public void Given_empty_categories_When_PSI_is_computed_Then_they_are_filled_with_a_ten_thousandth_as_Evidently_does()
    {
        // ref (.5, .5, 0) and cur (.5, 0, .5): the zeros become 1e−4 (the smallest non-zero share, .5, is above 1e−4);
        // PSI = 0 + (.5 − 1e−4)·ln(.5/1e−4) + (1e−4 − .5)·ln(1e−4/.5) = 2·.4999·ln 5000
        DriftStatistics.Psi([0, 0, 1, 1], [0, 0, 2, 2], categorical: true).ShouldBe(2 * 0.4999 * Math.Log(5000), Tolerance);
        // a smallest share ≤ 1e−4 is divided by a million instead: 1 of 20,000 values in category 1, none in 2
        var reference = Enumerable.Repeat(0.0, 19_999).Append(1).ToArray();
        var (p, _) = DriftStatistics.Frequencies(reference, [0, 2], categorical: true, fillZeroes: true);
        p.ShouldBe([19_999 / 20_000.0, 1 / 20_000.0, 1 / 20_000.0 / 1e6]);
    }

    [Fact]
    public void Given_an_empty_unsorted_or_non_finite_sample_When_any_statistic_is_computed_Then_it_is_refused()
    {
        Should.Throw<ArgumentException>(() => DriftStatistics.KolmogorovSmirnov([1, 2], [])).ParamName.ShouldBe("current");
        Should.Throw<ArgumentException>(() => DriftStatistics.Wasserstein([], [1])).ParamName.ShouldBe("reference");
        Should.Throw<ArgumentException>(() => DriftStatistics.ChiSquared([2, 1], [1]));
        Should.Throw<ArgumentException>(() => DriftStatistics.JensenShannon([1, double.NaN], [1], categorical: false));
        Should.Throw<ArgumentException>(() => DriftStatistics.Psi([1], [1, double.PositiveInfinity], categorical: false));
        Should.Throw<ArgumentException>(() => DriftStatistics.Wasserstein([double.NegativeInfinity, 1], [1]));
    }
}
