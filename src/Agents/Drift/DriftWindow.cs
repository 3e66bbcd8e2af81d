using EventMlOps.Contracts.Drift;

namespace EventMlOps.Agents.Drift;

/// <summary>A served version's samples gathered into one window, from its first sample's time.</summary>
public sealed record DriftWindow(DateTimeOffset Start, IReadOnlyList<DriftSample> Samples)
{
    /// <summary>A window that closes by time with fewer samples waits for more: a few samples measure nothing.</summary>
    public const int MinSamples = 30;

    /// <summary>Adds <paramref name="samples"/> (in order) to <paramref name="open"/>: a window closes at the policy's
    /// <see cref="DriftPolicy.WindowSamples"/>, or once <see cref="DriftPolicy.WindowSeconds"/> have passed since its start
    /// by <paramref name="now"/> with at least <see cref="MinSamples"/> (or the window size, when smaller).</summary>
    public static (IReadOnlyList<DriftWindow> Closed, DriftWindow? Open) Add(DriftWindow? open, IReadOnlyList<DriftSample> samples, DriftPolicy policy,
        DateTimeOffset now)
    {
        var size = Math.Max(1, policy.WindowSamples);
        var closed = new List<DriftWindow>();
        var current = open is null ? [] : new List<DriftSample>(open.Samples);
        var start = open?.Start;
        foreach (var sample in samples)
        {
            start ??= sample.Time;
            current.Add(sample);
            if (current.Count < size) continue;
            closed.Add(new DriftWindow(start.Value, current));
            (current, start) = ([], null);
        }
        if (start is { } since && now - since >= TimeSpan.FromSeconds(policy.WindowSeconds) && current.Count >= Math.Min(MinSamples, size))
        {
            closed.Add(new DriftWindow(since, current));
            (current, start) = ([], null);
        }
        return (closed, start is { } at ? new DriftWindow(at, current) : null);
    }

    /// <summary>Every feature the baseline and the window's samples both have, scored against its reference.</summary>
    public IReadOnlyList<FeatureScore> Measure(IReadOnlyList<FeatureReference> references, DriftPolicy policy)
    {
        var scores = new List<FeatureScore>();
        foreach (var reference in references)
        {
            var values = new List<double>();
            foreach (var sample in Samples)
                if ((reference.Role == FeatureRole.Input ? sample.Inputs : sample.Outputs).TryGetValue(reference.Feature, out var taken))
                    values.AddRange(taken);
            if (values.Any(double.IsFinite)) scores.Add(DriftMeasure.Score(reference, values.ToArray(), policy));
        }
        return scores;
    }

    public DateTimeOffset End => Samples[^1].Time;
}
