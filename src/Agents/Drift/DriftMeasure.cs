using System.Buffers;
using EventMlOps.Contracts.Drift;

namespace EventMlOps.Agents.Drift;

/// <summary>One feature of a window scored against its training reference: the policy's test for the feature when it
/// names one, else the one Evidently's defaults pick (<see cref="Choose"/>).</summary>
public static class DriftMeasure
{
    /// <summary>Scores the finite values of <paramref name="current"/> (NaN and ±∞ — a broken client or model — are left
    /// out, as Evidently drops NaN; <see cref="FeatureScore.Samples"/> counts the values measured, so the loss shows).
    /// A window with no finite value is refused.</summary>
    public static FeatureScore Score(FeatureReference reference, ReadOnlySpan<double> current, DriftPolicy policy)
    {
        var rented = ArrayPool<double>.Shared.Rent(current.Length);
        try
        {
            var n = 0;
            foreach (var v in current) if (double.IsFinite(v)) rented[n++] = v;
            if (n == 0) throw new ArgumentException($"no finite value of feature '{reference.Feature}' to measure", nameof(current));
            var sorted = rented.AsSpan(0, n);
            sorted.Sort();
            var method = policy.Features?.GetValueOrDefault(reference.Feature)?.Method is { } set and not DriftMethod.Auto ? set : Choose(reference, sorted);
            var values = reference.Values.AsSpan();
            var score = method switch
            {
                DriftMethod.KolmogorovSmirnov => DriftStatistics.KolmogorovSmirnov(values, sorted).PValue,
                DriftMethod.ChiSquared => DriftStatistics.ChiSquared(values, sorted).PValue,
                DriftMethod.Wasserstein => DriftStatistics.NormalisedWasserstein(values, sorted, reference.Std),
                DriftMethod.JensenShannon => DriftStatistics.JensenShannon(values, sorted, reference.Categorical),
                DriftMethod.Psi => DriftStatistics.Psi(values, sorted, reference.Categorical),
                _ => throw new ArgumentOutOfRangeException(nameof(policy), "unknown drift method"),
            };
            return new FeatureScore(reference.Feature, reference.Role, method, score, n);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rented);
        }
    }

    /// <summary>Evidently's default test (<c>get_default_stattest</c>) for a reference and the sorted current values.
    /// Numeric means not marked categorical and more than 5 distinct values over both samples. A reference of at most
    /// 1,000 training values: KS when numeric, else chi-squared (Evidently takes a proportions z-test for ≤ 2 values;
    /// our methods have none, chi-squared answers the same question). Larger: normalised Wasserstein when numeric, else
    /// Jensen–Shannon.</summary>
    public static DriftMethod Choose(FeatureReference reference, ReadOnlySpan<double> sortedCurrent)
    {
        var numeric = !reference.Categorical
            && DriftStatistics.Distinct(reference.Values, sortedCurrent, DriftPolicy.CategoricalDistinct + 1) > DriftPolicy.CategoricalDistinct;
        return reference.Count <= DriftPolicy.SmallReference
            ? numeric ? DriftMethod.KolmogorovSmirnov : DriftMethod.ChiSquared
            : numeric ? DriftMethod.Wasserstein : DriftMethod.JensenShannon;
    }
}
