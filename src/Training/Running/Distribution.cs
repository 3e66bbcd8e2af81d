using System.Text.Json;

namespace EventMlOps.Training.Running;

/// <summary>A distribution summary for the drift baseline: count, moments, quantiles, an equal-width histogram
/// (<c>edges</c> has bins+1 values from min to max) and the <c>reference</c> the drift tests compare served values with:
/// all values sorted when there are at most <see cref="ReferenceSize"/>, else that many evenly spaced quantiles
/// (levels k/999, the minimum and maximum included) — a sketch whose empirical CDF is within 1/999 of the data's, so KS,
/// Wasserstein, PSI and Jensen–Shannon need nothing else. <see cref="Categorical"/> marks values that are categories.</summary>
public sealed record Distribution(long Count, double Mean, double Std, double Min, double Max,
    IReadOnlyList<(string Name, double Value)> Quantiles, double[] Edges, long[] Counts, double[] Reference, bool Categorical = false)
{
    public const int ReferenceSize = 1000;

    private static readonly (string Name, double Q)[] QuantileLevels =
        [("p01", 0.01), ("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99)];

    public static Distribution Of(ReadOnlySpan<float> values, int bins = 20)
    {
        var copy = values.ToArray();
        var doubles = new double[copy.Length];
        for (var i = 0; i < copy.Length; i++) doubles[i] = copy[i];
        return Of(doubles, bins);
    }

    /// <summary>Summarises (and sorts) the values.</summary>
    public static Distribution Of(double[] values, int bins = 20)
    {
        if (values.Length == 0) return new Distribution(0, 0, 0, 0, 0, [], [0, 0], [0], []);
        Array.Sort(values);
        double sum = 0, sumSq = 0;
        foreach (var v in values) sum += v;
        var mean = sum / values.Length;
        foreach (var v in values) sumSq += (v - mean) * (v - mean);
        var (min, max) = (values[0], values[^1]);
        if (max <= min) bins = 1;
        var edges = new double[bins + 1];
        for (var b = 0; b <= bins; b++) edges[b] = b == bins ? max : min + (max - min) * b / bins;
        var counts = new long[bins];
        foreach (var v in values)
            counts[max <= min ? 0 : Math.Clamp((int)((v - min) / (max - min) * bins), 0, bins - 1)]++;
        var quantiles = QuantileLevels.Select(q => (q.Name, Quantile(values, q.Q))).ToList();
        var reference = values.Length <= ReferenceSize
            ? (double[])values.Clone()
            : Enumerable.Range(0, ReferenceSize).Select(k => Quantile(values, k / (ReferenceSize - 1.0))).ToArray();
        return new Distribution(values.Length, mean, Math.Sqrt(sumSq / values.Length), min, max, quantiles, edges, counts, reference);
    }

    /// <summary>Linear interpolation between order statistics of sorted values.</summary>
    public static double Quantile(double[] sorted, double q)
    {
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("count", Count);
        w.WriteNumber("mean", JsonOut.Round(Mean));
        w.WriteNumber("std", JsonOut.Round(Std));
        w.WriteNumber("min", JsonOut.Round(Min));
        w.WriteNumber("max", JsonOut.Round(Max));
        w.WriteStartObject("quantiles");
        foreach (var (name, value) in Quantiles) w.WriteNumber(name, JsonOut.Round(value));
        w.WriteEndObject();
        w.WriteStartObject("histogram");
        w.WriteStartArray("edges");
        foreach (var e in Edges) w.WriteNumberValue(JsonOut.Round(e));
        w.WriteEndArray();
        w.WriteStartArray("counts");
        foreach (var c in Counts) w.WriteNumberValue(c);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartArray("reference");
        foreach (var v in Reference) w.WriteNumberValue(JsonOut.Round(v));
        w.WriteEndArray();
        if (Categorical) w.WriteBoolean("categorical", true);
        w.WriteEndObject();
    }
}
