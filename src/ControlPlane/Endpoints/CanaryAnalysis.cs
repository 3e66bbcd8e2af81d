using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Commanding;
using static EventMlOps.Contracts.Endpoints.VerdictFormat;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>The limits a canary is judged by (<see cref="RolloutAnalysis"/>) and the verdicts recorded on each measurement.</summary>
public static class CanaryAnalysis
{
    public const string TooFewSamples = "too_few_samples", Baking = "baking", Healthy = "healthy", Breach = "breach", Stalled = "stalled";

    public static RolloutAnalysis Validated(RolloutAnalysis a, string field = "strategy")
    {
        if (a.IntervalSeconds is < 1 or > 3600)
            throw new InvalidField($"{field}.analysis.intervalSeconds", "must be between 1 and 3600");
        if (a.MinRequests < 1)
            throw new InvalidField($"{field}.analysis.minRequests", "must be ≥ 1");
        if (a.MaxErrorRate is not (>= 0 and <= 1))
            throw new InvalidField($"{field}.analysis.maxErrorRate", "must be a fraction between 0 and 1");
        if (a.MaxP95Ms is { } max && max is not > 0)
            throw new InvalidField($"{field}.analysis.maxP95Ms", "must be > 0 when given");
        if (a.MaxP95Ratio is not >= 1)
            throw new InvalidField($"{field}.analysis.maxP95Ratio", "must be ≥ 1");
        if (a.ProgressDeadline is < 0 or > 100_000)
            throw new InvalidField($"{field}.analysis.progressDeadline", "must be between 0 (wait for traffic forever) and 100000 measurements");
        return a;
    }

    /// <summary>Why the canary breaches the limits (every limit it breaks), or null while it keeps within them.
    /// Only meaningful once the canary has requests (see <see cref="RolloutAnalysis.MinRequests"/>).</summary>
    public static string? BreachOf(RolloutAnalysis a, VersionMetrics canary, VersionMetrics stable)
    {
        var reasons = new List<string>();
        var errorRate = ErrorRate(canary);
        if (errorRate > a.MaxErrorRate)
            reasons.Add($"canary error rate {Percent(errorRate)} > {Percent(a.MaxErrorRate)}");
        if (a.MaxP95Ms is { } max && canary.P95Ms > max)
            reasons.Add($"canary p95 {Ms(canary.P95Ms)} > {Ms(max)}");
        const double floor = RolloutAnalysis.P95FloorMs;
        if (stable.Requests > 0 && canary.P95Ms > RatioLimitMs(a, stable))
            reasons.Add($"canary p95 {Ms(canary.P95Ms)} > {Number(a.MaxP95Ratio)} × stable {Ms(stable.P95Ms)}"
                        + (stable.P95Ms < floor ? $" (floor {Ms(floor)})" : ""));
        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }

    /// <summary>Errors per request (NaN without requests: no verdict is taken on none).</summary>
    public static double ErrorRate(VersionMetrics m) => (double)m.Errors / m.Requests;

    /// <summary>The p95 the canary may reach against the stable version's (which is taken as at least the floor).</summary>
    public static double RatioLimitMs(RolloutAnalysis a, VersionMetrics stable) => a.MaxP95Ratio * Math.Max(stable.P95Ms, RolloutAnalysis.P95FloorMs);

    private static string Ms(double value) => Number(value) + " ms";
}
