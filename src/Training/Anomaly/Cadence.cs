using System.Globalization;
using EventMlOps.Models;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Anomaly;

/// <summary>Readings placed in event time, as the stream scorer places them (<see cref="EventTime"/>) at the series'
/// sampling interval — inferred (the median step between readings) or given, which resamples the series onto that grid:
/// two readings in one slot are a duplicate (the later one is kept); a slot without a reading is filled with the last
/// reading up to the gap tolerance (<see cref="EventTime.Carries"/>), and beyond it is a gap that no window spans. With an
/// inferred interval, a series whose steps are often no multiple of it is refused (irregular), naming its first such line.</summary>
public static class Cadence
{
    /// <summary><paramref name="FillSlots"/>: readings a gap may be filled with; <paramref name="Filled"/>: readings so made.</summary>
    public sealed record Placed(SensorData Data, long? IntervalMs, long Duplicates, long Gaps, int FillSlots = 0, long Filled = 0);

    /// <summary>A step further than this share of the interval from a multiple of it is off the cadence.</summary>
    private const double OffGrid = 0.1;

    /// <summary>Off-cadence steps beyond this share of all steps make a series irregular rather than jittery.</summary>
    private const double IrregularShare = 0.05;

    /// <param name="window">Readings per window: a gap tolerance of a whole window or more is refused (a window could hold no
    /// reading at all, and a long outage would be filled with as many made-up readings).</param>
    public static Placed Place(SensorData data, long? intervalMs, int window, long gapToleranceMs = 0, string source = "data")
    {
        var interval = intervalMs ?? Median(data);
        if (interval is not > 0) return new Placed(data, null, 0, 0);
        if (intervalMs is null) RefuseIrregular(data, interval.Value, source);
        var fill = (int)Math.Min(int.MaxValue, gapToleranceMs / interval.Value);
        if (fill >= window)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--gap-tolerance fills up to {fill:N0} missing readings, a window's worth or more (windows of {window} readings {interval:N0} apart): keep it under a window"));
        long duplicates = 0, gaps = 0, filled = 0;
        var f = data.Features.Length;
        var machines = data.Machines.Select(m =>
        {
            // The last reading of each slot, in slot order (readings are in time order).
            var slots = new List<(long Slot, int Reading)>(m.Length);
            for (var t = 0; t < m.Length; t++)
            {
                var slot = EventTime.Slot(m.Timestamps[t], interval.Value);
                if (slots.Count > 0 && slots[^1].Slot == slot)
                {
                    duplicates++;
                    slots[^1] = (slot, t);
                }
                else slots.Add((slot, t));
            }
            var times = new List<long>(slots.Count);
            var values = new List<float>(slots.Count * f);
            var labels = new List<string?>(slots.Count);
            var gapBefore = new List<bool>(slots.Count);
            void Add(long time, int reading, bool gap)
            {
                times.Add(time);
                values.AddRange(m.Values.AsSpan(reading * f, f));
                labels.Add(m.Labels?[reading]);
                gapBefore.Add(gap);
            }
            for (var i = 0; i < slots.Count; i++)
            {
                var (slot, reading) = slots[i];
                var gap = false;
                if (i > 0)
                {
                    var (last, lastReading) = slots[i - 1];
                    for (var s = last + 1; s < slot && EventTime.Carries(last, s, fill); s++, filled++) Add(s * interval.Value, lastReading, false);
                    gap = !EventTime.Carries(last, slot - 1, fill) && slot - 1 > last;
                    if (gap) gaps++;
                }
                Add(m.Timestamps[reading], reading, gap);
            }
            return new MachineSeries
            {
                Machine = m.Machine, Timestamps = [.. times], Values = [.. values], Labels = m.Labels is null ? null : [.. labels],
                Gaps = gapBefore.Contains(true) ? [.. gapBefore] : null,
            };
        }).ToList();
        return new Placed(new SensorData { Features = data.Features, Machines = machines, NumericTimes = data.NumericTimes }, interval, duplicates, gaps, fill, filled);
    }

    /// <summary>Refuses a series whose steps are too often no multiple of the inferred interval: resampling it would keep
    /// arbitrary readings; the user chooses the grid with <c>--cadence</c>.</summary>
    private static void RefuseIrregular(SensorData data, long interval, string source)
    {
        long steps = 0, off = 0;
        (int Machine, int Reading, long Step)? first = null;
        for (var mi = 0; mi < data.Machines.Count; mi++)
        {
            var m = data.Machines[mi];
            for (var t = 1; t < m.Length; t++)
            {
                var step = m.Timestamps[t] - m.Timestamps[t - 1];
                if (step <= 0) continue; // a duplicate, kept apart
                steps++;
                var ratio = (double)step / interval;
                if (Math.Abs(ratio - Math.Round(ratio)) <= OffGrid) continue;
                off++;
                first ??= (mi, t, step);
            }
        }
        if (first is not { } at || off <= IrregularShare * steps) return;
        var unit = data.NumericTimes ? "" : " ms";
        var where = data.Machines[at.Machine].Lines is { } lines ? $"line {lines[at.Reading]}" : $"machine {at.Machine + 1}, reading {at.Reading + 1}";
        throw new UsageException(string.Create(CultureInfo.InvariantCulture,
            $"{source}: {where}: a step of {at.Step:N0}{unit} after the previous reading, no multiple of the inferred cadence {interval:N0}{unit} (as {off:N0} of {steps:N0} steps): the series is irregular; --cadence <interval> resamples it (the last reading of each interval is kept)"));
    }

    /// <summary>A sampling interval as given: a number and a unit (<c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>), e.g. <c>60s</c>;
    /// with <paramref name="zero"/>, also <c>0</c> (none).</summary>
    public static long? Parse(string? text, string option, bool zero = false)
    {
        if (text is null) return null;
        if (zero && text == "0") return 0;
        var units = new (string Suffix, double Ms)[] { ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000) };
        foreach (var (suffix, ms) in units)
            if (text.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
                && n > 0 && n * ms is >= 1 and <= 366d * 86_400_000)
                return (long)Math.Round(n * ms);
        throw new UsageException($"--{option} must be {(zero ? "0 or " : "")}a duration such as 500ms, 60s, 5m or 1h, not '{(text.Length > 40 ? text[..40] + "…" : text)}'");
    }

    /// <summary>The median positive step between consecutive readings of every machine.</summary>
    private static long? Median(SensorData data)
    {
        var steps = data.Machines.SelectMany(m => m.Timestamps.Zip(m.Timestamps.Skip(1), (a, b) => b - a)).Where(s => s > 0).Order().ToArray();
        return steps.Length > 0 ? steps[steps.Length / 2] : null;
    }
}
