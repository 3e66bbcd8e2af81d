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

    public bool[]? Anomalous => Kinds?.Select(k => k is not null).ToArray();

    public ReadOnlySpan<float> Row(int i) => Values.AsSpan(i * Width, Width);
}

/// <summary>The chronological split of every machine's timeline: training, validation (normal operation held
/// out for the threshold) and test (the labelled evaluation), and the windows of each part.</summary>
public sealed record TimelineSplit(double TrainFraction, double ValidationFraction)
{
    public (int From, int To) Train(MachineSeries m) => (0, (int)(m.Length * TrainFraction));
    public (int From, int To) Validation(MachineSeries m) => ((int)(m.Length * TrainFraction), (int)(m.Length * (TrainFraction + ValidationFraction)));
    public (int From, int To) Test(MachineSeries m) => ((int)(m.Length * (TrainFraction + ValidationFraction)), m.Length);

    /// <summary>Windows starting every <paramref name="stride"/> readings that lie wholly inside the part.</summary>
    public static WindowSet Windows(SensorData data, int window, int stride, Func<MachineSeries, (int From, int To)> part)
    {
        var features = data.Features.Length;
        var width = window * features;
        var labelled = data.HasLabels;
        var values = new List<float>();
        var kinds = new List<string?>();
        var count = 0;
        foreach (var m in data.Machines)
        {
            var (from, to) = part(m);
            for (var start = from; start + window <= to; start += stride)
            {
                values.AddRange(m.Values.AsSpan(start * features, width));
                if (labelled)
                {
                    string? kind = null;
                    for (var t = start; t < start + window && kind is null; t++) kind = m.Labels![t];
                    kinds.Add(kind);
                }
                count++;
            }
        }
        return new WindowSet { Values = values.ToArray(), Count = count, Width = width, Kinds = labelled ? kinds.ToArray() : null };
    }
}
