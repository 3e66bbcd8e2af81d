namespace EventMlOps.Training.Anomaly;

/// <summary>One machine's readings in time order: <see cref="Values"/> is row-major [time, feature].
/// <see cref="Labels"/> (evaluation only) holds null for a normal reading and the anomaly's kind otherwise
/// ("anomaly" when the data names no kind); it is null when the data carries no labels.</summary>
public sealed class MachineSeries
{
    public required string Machine { get; init; }
    public required long[] Timestamps { get; init; }
    public required float[] Values { get; init; }
    public string?[]? Labels { get; init; }

    /// <summary>Per reading: whether a gap in event time comes before it (<see cref="Cadence"/>); no window spans one.
    /// Null: no gaps.</summary>
    public bool[]? Gaps { get; init; }

    /// <summary>Per reading: its line in the file it was read from (for messages); null for generated data.</summary>
    public int[]? Lines { get; init; }

    public int Length => Timestamps.Length;
}

/// <summary>Multi-sensor readings of one or more machines; every machine has the same features.</summary>
public sealed class SensorData
{
    public required string[] Features { get; init; }
    public required IReadOnlyList<MachineSeries> Machines { get; init; }

    /// <summary>Whether some timestamp was a plain number (kept in its own unit) rather than a date (Unix milliseconds).</summary>
    public bool NumericTimes { get; init; }

    public bool HasLabels => Machines.All(m => m.Labels is not null);
    public long Readings => Machines.Sum(m => (long)m.Length);
}
