using MathNet.Numerics;

namespace EventMlOps.Agents.Drift;

/// <summary>The two-sample tests and distances of Evidently's data drift (which calls SciPy), over samples already
/// sorted ascending and finite (checked: O(n), the price of a hostile caller). Every one is a merge of the two sorted
/// samples: O(n + m) after the sort, no allocation but the binned frequencies.</summary>
/// <remarks>
/// Where we differ from SciPy, on purpose:
/// <list type="bullet">
/// <item>KS p-value: always asymptotic — the Kolmogorov limit distribution at √(nm/(n+m))·D, as R's
/// <c>ks.test(exact = FALSE)</c> and SciPy's <c>ks_2samp(method="asymp")</c> before 1.5 compute it. SciPy's default
/// (<c>"auto"</c>) is exact up to 10,000 values per sample, O(nm) per test; the limit is O(1) and close for samples of
/// hundreds. MathNet has no Kolmogorov distribution, so its two series are here (<see cref="KolmogorovSurvival"/>).</item>
/// <item>Chi-squared with a single category in both samples: p = 1 (identical) where SciPy returns NaN (0 degrees of
/// freedom); a category the reference never had: p = 0 where SciPy returns 0 after a division by zero.</item>
/// </list>
/// </remarks>
public static class DriftStatistics
{
    /// <summary>Evidently's bin count for PSI and Jensen–Shannon over numeric values.</summary>
    public const int Bins = 30;

    /// <summary>A numeric reference with more distinct values than this is binned; fewer are treated as categories
    /// (Evidently's <c>get_binned_data</c>).</summary>
    public const int BinnedDistinct = 20;

    /// <summary>Evidently's floor for the reference's standard deviation under the Wasserstein distance.</summary>
    public const double MinimumStd = 0.001;

    /// <summary>Two-sample Kolmogorov–Smirnov (two-sided): D = max |F_ref − F_cur| and its asymptotic p-value.</summary>
    public static (double Statistic, double PValue) KolmogorovSmirnov(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        Require(reference, nameof(reference));
        Require(current, nameof(current));
        double n = reference.Length, m = current.Length, d = 0;
        int i = 0, j = 0;
        while (i < reference.Length && j < current.Length)
        {
            var x = Math.Min(reference[i], current[j]);
            while (i < reference.Length && reference[i] <= x) i++;
            while (j < current.Length && current[j] <= x) j++;
            d = Math.Max(d, Math.Abs(i / n - j / m));
        }
        return (d, KolmogorovSurvival(Math.Sqrt(n * m / (n + m)) * d));
    }

    /// <summary>P(K &gt; λ) for the Kolmogorov distribution (SciPy's <c>kstwobign.sf</c>): 2 Σ (−1)^(k−1) e^(−2k²λ²) for
    /// λ ≥ 1, 1 − (√(2π)/λ) Σ e^(−(2k−1)²π²/(8λ²)) below, where each series converges in a few terms.</summary>
    public static double KolmogorovSurvival(double lambda)
    {
        if (!(lambda > 0)) return 1;
        double sum = 0, term;
        if (lambda < 1)
        {
            var a = -Math.PI * Math.PI / (8 * lambda * lambda);
            var k = 1;
            do sum += term = Math.Exp(a * (2 * k - 1) * (2 * k - 1)); while (term > 1e-17 * sum && ++k < 100);
            return Math.Clamp(1 - Math.Sqrt(2 * Math.PI) / lambda * sum, 0, 1);
        }
        var b = -2 * lambda * lambda;
        for (var k = 1; k < 100; k++)
        {
            term = Math.Exp(b * k * k);
            sum += k % 2 == 1 ? term : -term;
            if (term < 1e-17 * sum) break;
        }
        return Math.Clamp(2 * sum, 0, 1);
    }

    /// <summary>The first Wasserstein distance between the two empirical distributions (SciPy's
    /// <c>wasserstein_distance</c>, unweighted): ∫ |F_ref − F_cur| dx.</summary>
    public static double Wasserstein(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        Require(reference, nameof(reference));
        Require(current, nameof(current));
        double n = reference.Length, m = current.Length, distance = 0;
        var previous = Math.Min(reference[0], current[0]);
        int i = 0, j = 0;
        while (i < reference.Length || j < current.Length)
        {
            var x = j == current.Length || (i < reference.Length && reference[i] <= current[j]) ? reference[i] : current[j];
            distance += Math.Abs(i / n - j / m) * (x - previous);
            while (i < reference.Length && reference[i] <= x) i++;
            while (j < current.Length && current[j] <= x) j++;
            previous = x;
        }
        return distance;
    }

    /// <summary>Evidently's <c>wasserstein_distance_norm</c>: the distance over max(std, 0.001), std the reference's
    /// population standard deviation.</summary>
    public static double NormalisedWasserstein(ReadOnlySpan<double> reference, ReadOnlySpan<double> current, double referenceStd) =>
        Wasserstein(reference, current) / Math.Max(referenceStd, MinimumStd);

    /// <summary>Evidently's chi-squared test: SciPy's <c>chisquare</c> of the current counts per category against the
    /// reference counts scaled to the current size, k − 1 degrees of freedom over the k categories of either sample;
    /// the p-value is the upper regularised incomplete gamma function Q((k−1)/2, χ²/2) (MathNet).</summary>
    public static (double Statistic, double PValue) ChiSquared(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        Require(reference, nameof(reference));
        Require(current, nameof(current));
        var scale = (double)current.Length / reference.Length;
        double statistic = 0;
        var categories = 0;
        int i = 0, j = 0;
        while (i < reference.Length || j < current.Length)
        {
            var (x, fromI, fromJ) = (NextCategory(reference, current, i, j), i, j);
            while (i < reference.Length && reference[i] == x) i++;
            while (j < current.Length && current[j] == x) j++;
            categories++;
            double expected = (i - fromI) * scale, observed = j - fromJ;
            if (expected == 0) return (double.PositiveInfinity, 0);
            statistic += (observed - expected) * (observed - expected) / expected;
        }
        return categories == 1 ? (0, 1) : (statistic, SpecialFunctions.GammaUpperRegularized((categories - 1) / 2.0, statistic / 2));
    }

    /// <summary>The Jensen–Shannon distance (natural logarithm; SciPy's <c>distance.jensenshannon</c>) between the
    /// reference's and the current sample's frequencies as Evidently bins them (<see cref="Frequencies"/>).</summary>
    public static double JensenShannon(ReadOnlySpan<double> reference, ReadOnlySpan<double> current, bool categorical)
    {
        var (p, q) = Frequencies(reference, current, categorical, fillZeroes: false);
        double divergence = 0;
        for (var k = 0; k < p.Length; k++)
        {
            var mid = (p[k] + q[k]) / 2;
            if (p[k] > 0) divergence += p[k] * Math.Log(p[k] / mid);
            if (q[k] > 0) divergence += q[k] * Math.Log(q[k] / mid);
        }
        return Math.Sqrt(Math.Max(0, divergence / 2));
    }

    /// <summary>Evidently's Population Stability Index: Σ (ref − cur)·ln(ref / cur) over the frequencies
    /// (<see cref="Frequencies"/>) with empty bins filled.</summary>
    public static double Psi(ReadOnlySpan<double> reference, ReadOnlySpan<double> current, bool categorical)
    {
        var (p, q) = Frequencies(reference, current, categorical, fillZeroes: true);
        double psi = 0;
        for (var k = 0; k < p.Length; k++) psi += (p[k] - q[k]) * Math.Log(p[k] / q[k]);
        return psi;
    }

    /// <summary>Evidently's <c>get_binned_data</c>: a numeric reference with more than 20 distinct values is cut into 30
    /// equal-width bins from the minimum to the maximum of both samples (NumPy's <c>histogram_bin_edges</c>: edges
    /// start + i·step, the last edge the maximum and its bin closed); otherwise each distinct value of either sample is
    /// a category. Each sample's counts are divided by its size. With <paramref name="fillZeroes"/> an empty bin gets
    /// the sample's smallest non-zero share / 10⁶ when that share is ≤ 10⁻⁴, else 10⁻⁴ (as Evidently does for PSI).</summary>
    public static (double[] Reference, double[] Current) Frequencies(ReadOnlySpan<double> reference, ReadOnlySpan<double> current, bool categorical, bool fillZeroes)
    {
        Require(reference, nameof(reference));
        Require(current, nameof(current));
        var (p, q) = !categorical && Distinct(reference, BinnedDistinct + 1) > BinnedDistinct
            ? Binned(reference, current)
            : Categories(reference, current);
        if (fillZeroes)
        {
            FillZeroes(p);
            FillZeroes(q);
        }
        return (p, q);
    }

    /// <summary>The number of distinct values in a sorted sample, counting no further than <paramref name="atMost"/>.</summary>
    public static int Distinct(ReadOnlySpan<double> sorted, int atMost)
    {
        var distinct = 0;
        for (var i = 0; i < sorted.Length && distinct < atMost; i++)
            if (i == 0 || sorted[i] != sorted[i - 1]) distinct++;
        return distinct;
    }

    /// <summary>The number of distinct values in the union of two sorted samples, counting no further than <paramref name="atMost"/>.</summary>
    public static int Distinct(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int atMost)
    {
        int distinct = 0, i = 0, j = 0;
        while ((i < a.Length || j < b.Length) && distinct < atMost)
        {
            var x = NextCategory(a, b, i, j);
            while (i < a.Length && a[i] == x) i++;
            while (j < b.Length && b[j] == x) j++;
            distinct++;
        }
        return distinct;
    }

    private static (double[], double[]) Binned(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        double first = Math.Min(reference[0], current[0]), last = Math.Max(reference[^1], current[^1]);
        var step = (last - first) / Bins;
        return (Histogram(reference, first, step), Histogram(current, first, step));
    }

    /// <summary>Shares per bin [edge_k, edge_k+1), the last bin closed: counts below each inner edge by one walk.</summary>
    private static double[] Histogram(ReadOnlySpan<double> sorted, double first, double step)
    {
        var shares = new double[Bins];
        var below = 0;
        for (var k = 1; k < Bins; k++)
        {
            var edge = k * step + first;
            var start = below;
            while (below < sorted.Length && sorted[below] < edge) below++;
            shares[k - 1] = (below - start) / (double)sorted.Length;
        }
        shares[Bins - 1] = (sorted.Length - below) / (double)sorted.Length;
        return shares;
    }

    private static (double[], double[]) Categories(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        var count = Distinct(reference, current, int.MaxValue);
        double[] p = new double[count], q = new double[count];
        int i = 0, j = 0;
        for (var k = 0; k < count; k++)
        {
            var (x, fromI, fromJ) = (NextCategory(reference, current, i, j), i, j);
            while (i < reference.Length && reference[i] == x) i++;
            while (j < current.Length && current[j] == x) j++;
            p[k] = (i - fromI) / (double)reference.Length;
            q[k] = (j - fromJ) / (double)current.Length;
        }
        return (p, q);
    }

    private static double NextCategory(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int i, int j) =>
        j == b.Length || (i < a.Length && a[i] <= b[j]) ? a[i] : b[j];

    private static void FillZeroes(double[] shares)
    {
        var smallest = double.PositiveInfinity;
        foreach (var s in shares) if (s > 0) smallest = Math.Min(smallest, s);
        var fill = smallest <= 1e-4 ? smallest / 1e6 : 1e-4;
        for (var k = 0; k < shares.Length; k++) if (shares[k] == 0) shares[k] = fill;
    }

    /// <summary>Refuses an empty, unsorted or non-finite sample (naming the argument, never echoing values).</summary>
    private static void Require(ReadOnlySpan<double> sorted, string name)
    {
        if (sorted.IsEmpty) throw new ArgumentException("the sample is empty", name);
        if (!double.IsFinite(sorted[0])) throw new ArgumentException("the sample holds a value that is not a finite number", name);
        for (var i = 1; i < sorted.Length; i++)
            if (!(sorted[i] >= sorted[i - 1]) || double.IsPositiveInfinity(sorted[i]))
                throw new ArgumentException("the sample is not sorted ascending or holds a value that is not a finite number", name);
    }
}
