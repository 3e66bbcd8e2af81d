namespace EventMlOps.Training.Anomaly;

/// <summary>Sliding windows of consecutive readings of one machine, flattened time-major (the value of feature f
/// at step t, oldest first, is at <c>t * features + f</c>). A window is anomalous when any reading in it is
/// labelled; its kind is that of its first labelled reading.</summary>
public sealed class WindowSet
{
    public required float[] Values { get; init; }
    public required int Count { get; init; }
    public required int Width { get; init; }

    /// <summary>Per window: null for normal, else the anomaly kind; the array is null without labels.</summary>
    public string?[]? Kinds { get; init; }

    /// <summary>Per window: the index of its machine in the data, and of its first reading in that machine's series.</summary>
    public required int[] Machine { get; init; }

    public required int[] Start { get; init; }

    public bool[]? Anomalous => Kinds?.Select(k => k is not null).ToArray();

    public ReadOnlySpan<float> Row(int i) => Values.AsSpan(i * Width, Width);
}

/// <summary>The chronological split of every machine's timeline: training, validation (normal operation held
/// out for the threshold) and test (the labelled evaluation), and the windows of each part — by shares of each timeline,
/// or at two moments (<paramref name="TrainUntil"/>, <paramref name="ValidateUntil"/>: Unix milliseconds, the last reading
/// of a part is the last at or before its moment). Unless <paramref name="KeepLabelled"/>, readings labelled as anomalies
/// are left out of training and threshold calibration (a window containing one is not taken; the normalisation does not
/// see them): they are what the model must not learn as normal.</summary>
public sealed record TimelineSplit(double TrainFraction, double ValidationFraction, bool KeepLabelled = false, long? TrainUntil = null,
    long? ValidateUntil = null)
{
    public (int From, int To) Train(MachineSeries m) => (0, TrainEnd(m));
    public (int From, int To) Validation(MachineSeries m) => (TrainEnd(m), ValidationEnd(m));
    public (int From, int To) Test(MachineSeries m) => (ValidationEnd(m), m.Length);

    private int TrainEnd(MachineSeries m) => TrainUntil is { } at ? After(m, at) : (int)(m.Length * TrainFraction);

    private int ValidationEnd(MachineSeries m) =>
        ValidateUntil is { } at ? Math.Max(TrainEnd(m), After(m, at)) : (int)(m.Length * (TrainFraction + ValidationFraction));

    /// <summary>The index of the first reading after <paramref name="at"/> (readings are in time order).</summary>
    private static int After(MachineSeries m, long at)
    {
        var i = Array.BinarySearch(m.Timestamps, at);
        if (i < 0) return ~i;
        while (i < m.Length && m.Timestamps[i] <= at) i++;
        return i;
    }

    /// <summary>Whether reading <paramref name="t"/> of <paramref name="m"/> is left out of training and calibration.</summary>
    public bool Excluded(MachineSeries m, int t) => !KeepLabelled && m.Labels?[t] is not null;

    /// <summary>Labelled readings inside <paramref name="part"/> of every machine.</summary>
    public static long Labelled(SensorData data, Func<MachineSeries, (int From, int To)> part) =>
        data.Machines.Sum(m => m.Labels is null ? 0L : Range(part(m)).LongCount(t => m.Labels[t] is not null));

    /// <summary>The training windows (every <paramref name="stride"/> readings), without labelled readings unless kept.</summary>
    public WindowSet TrainWindows(SensorData data, int window, int stride) => Windows(data, window, stride, Train, KeepLabelled ? null : this);

    /// <summary>The validation windows the threshold is chosen on, without labelled readings unless kept.</summary>
    public WindowSet ValidationWindows(SensorData data, int window) => Windows(data, window, 1, Validation, KeepLabelled ? null : this);

    /// <summary>Windows starting every <paramref name="stride"/> readings that lie wholly inside the part and span no gap
    /// in event time; with
    /// <paramref name="excluding"/>, none that contains a reading it excludes.</summary>
    public static WindowSet Windows(SensorData data, int window, int stride, Func<MachineSeries, (int From, int To)> part, TimelineSplit? excluding = null)
    {
        var features = data.Features.Length;
        var width = window * features;
        var labelled = data.HasLabels;
        var values = new List<float>();
        var kinds = new List<string?>();
        var (machines, starts) = (new List<int>(), new List<int>());
        var count = 0;
        for (var mi = 0; mi < data.Machines.Count; mi++)
        {
            var m = data.Machines[mi];
            var (from, to) = part(m);
            for (var start = from; start + window <= to; start += stride)
            {
                if (m.Gaps is { } gaps && Enumerable.Range(start + 1, window - 1).Any(t => gaps[t])) continue; // never across a gap
                if (excluding is not null && Enumerable.Range(start, window).Any(t => excluding.Excluded(m, t))) continue;
                values.AddRange(m.Values.AsSpan(start * features, width));
                machines.Add(mi);
                starts.Add(start);
                if (labelled)
                {
                    string? kind = null;
                    for (var t = start; t < start + window && kind is null; t++) kind = m.Labels![t];
                    kinds.Add(kind);
                }
                count++;
            }
        }
        return new WindowSet
        {
            Values = values.ToArray(), Count = count, Width = width, Kinds = labelled ? kinds.ToArray() : null, Machine = [.. machines], Start = [.. starts],
        };
    }

    private static IEnumerable<int> Range((int From, int To) part) => Enumerable.Range(part.From, Math.Max(0, part.To - part.From));
}
