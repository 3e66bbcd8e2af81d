using System.Globalization;
using EventMlOps.Models;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Anomaly;

/// <summary>Readings placed in event time, as the stream scorer places them (<see cref="EventTime.Slot"/>) at the series'
/// sampling interval — inferred (the median step between readings) or given: two readings in one slot are a duplicate
/// (the later one is kept), and a slot without a reading is a gap that no window spans.</summary>
public static class Cadence
{
    public sealed record Placed(SensorData Data, long? IntervalMs, long Duplicates, long Gaps);

    public static Placed Place(SensorData data, long? intervalMs)
    {
        var interval = intervalMs ?? Median(data);
        if (interval is not > 0) return new Placed(data, null, 0, 0);
        long duplicates = 0, gaps = 0;
        var f = data.Features.Length;
        var machines = data.Machines.Select(m =>
        {
            var times = new List<long>(m.Length);
            var values = new List<float>(m.Values.Length);
            var labels = new List<string?>(m.Length);
            var gapBefore = new List<bool>(m.Length);
            var previous = long.MinValue;
            for (var t = 0; t < m.Length; t++)
            {
                var slot = EventTime.Slot(m.Timestamps[t], interval.Value);
                if (slot == previous)
                {
                    // The later reading of a slot replaces the earlier one.
                    duplicates++;
                    if (gapBefore[^1]) gaps--;
                    times.RemoveAt(times.Count - 1);
                    values.RemoveRange(values.Count - f, f);
                    labels.RemoveAt(labels.Count - 1);
                    gapBefore.RemoveAt(gapBefore.Count - 1);
                    previous = times.Count > 0 ? EventTime.Slot(times[^1], interval.Value) : long.MinValue;
                }
                var gap = previous != long.MinValue && slot > previous + 1;
                if (gap) gaps++;
                times.Add(m.Timestamps[t]);
                values.AddRange(m.Values.AsSpan(t * f, f));
                labels.Add(m.Labels?[t]);
                gapBefore.Add(gap);
                previous = slot;
            }
            return new MachineSeries
            {
                Machine = m.Machine, Timestamps = [.. times], Values = [.. values], Labels = m.Labels is null ? null : [.. labels],
                Gaps = gapBefore.Contains(true) ? [.. gapBefore] : null,
            };
        }).ToList();
        return new Placed(new SensorData { Features = data.Features, Machines = machines, NumericTimes = data.NumericTimes }, interval, duplicates, gaps);
    }

    /// <summary>A sampling interval as given: a number and a unit (<c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>), e.g. <c>60s</c>.</summary>
    public static long? Parse(string? text, string option)
    {
        if (text is null) return null;
        var units = new (string Suffix, double Ms)[] { ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000) };
        foreach (var (suffix, ms) in units)
            if (text.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
                && n > 0 && n * ms is >= 1 and <= 366d * 86_400_000)
                return (long)Math.Round(n * ms);
        throw new UsageException($"--{option} must be a sampling interval such as 500ms, 60s, 5m or 1h, not '{(text.Length > 40 ? text[..40] + "…" : text)}'");
    }

    /// <summary>The median positive step between consecutive readings of every machine.</summary>
    private static long? Median(SensorData data)
    {
        var steps = data.Machines.SelectMany(m => m.Timestamps.Zip(m.Timestamps.Skip(1), (a, b) => b - a)).Where(s => s > 0).Order().ToArray();
        return steps.Length > 0 ? steps[steps.Length / 2] : null;
    }
}
