using EventMlOps.Models;

namespace EventMlOps.Training.Anomaly;

/// <summary>A labelled anomaly: consecutive labelled readings of one machine, from the first one's time to the last one's.</summary>
public sealed record LabelledEvent(int Machine, long Start, long End, string Kind);

/// <summary>Alarm episodes and what an operator sees of a detector: the alarms a replica's stream scorer would raise on
/// these windows (<see cref="AlarmRule"/>: raised after <c>RaiseAfter</c> anomalous windows in a row, cleared after
/// <c>ClearAfter</c> normal ones; with 1 and 1, consecutive alarmed windows merged) — an operator is paged once per episode.
/// An episode is false when none of its windows holds a labelled reading; a labelled event is detected when an episode
/// overlaps it, after the delay from the event's first reading to the end of the window that raised the alarm (none when
/// it was raised before the event began).</summary>
public sealed record EpisodeReport(int[] EpisodeOf, int Episodes, int FalseEpisodes, double Days, int Events, int Detected, double[] Delays)
{
    public double EpisodesPerDay => Days > 0 ? Episodes / Days : double.NaN;
    public double FalseEpisodesPerDay => Days > 0 ? FalseEpisodes / Days : double.NaN;
    public double MeanDelaySeconds => Delays.Length > 0 ? Delays.Average() : double.NaN;
    public double MedianDelaySeconds => Delays.Length > 0 ? Delays.Order().ElementAt(Delays.Length / 2) : double.NaN;
}

public static class Episodes
{
    /// <summary>The labelled events of <paramref name="part"/> of every machine.</summary>
    public static List<LabelledEvent> Events(SensorData data, Func<MachineSeries, (int From, int To)> part)
    {
        var events = new List<LabelledEvent>();
        for (var mi = 0; mi < data.Machines.Count; mi++)
        {
            var m = data.Machines[mi];
            if (m.Labels is null) continue;
            var (from, to) = part(m);
            for (var t = from; t < to; t++)
            {
                if (m.Labels[t] is not { } kind) continue;
                var start = t;
                while (t + 1 < to && m.Labels[t + 1] is not null && !(m.Gaps?[t + 1] ?? false)) t++;
                events.Add(new LabelledEvent(mi, m.Timestamps[start], m.Timestamps[t], kind));
            }
        }
        return events;
    }

    /// <summary>Machine-days that <paramref name="part"/> covers: each machine's span, one interval counted for its last reading.</summary>
    public static double Days(SensorData data, Func<MachineSeries, (int From, int To)> part, long intervalMs) =>
        data.Machines.Sum(m => part(m) is var (from, to) && to > from ? (m.Timestamps[to - 1] - m.Timestamps[from] + intervalMs) / 86_400_000.0 : 0);

    /// <summary>The episodes <paramref name="rule"/> makes of <paramref name="alarms"/> over <paramref name="windows"/> (in machine
    /// and time order, as <see cref="TimelineSplit.Windows"/> makes them, each machine's scored windows in a row as the stream
    /// scorer sees them), and the labelled events they detect.</summary>
    public static EpisodeReport Evaluate(SensorData data, WindowSet windows, IReadOnlyList<bool> alarms, IReadOnlyList<LabelledEvent> events, int window,
        AlarmRule rule, double days)
    {
        var episodeOf = Enumerable.Repeat(-1, windows.Count).ToArray();
        var spans = new List<(int Machine, long Start, long End, long RaisedAt)>();
        var falseEpisodes = 0;
        AlarmState? open = null;
        var (first, labelled) = (-1, false);
        for (var i = 0; i <= windows.Count; i++)
        {
            if (i == windows.Count || (i > 0 && windows.Machine[i] != windows.Machine[i - 1]))
            {
                Close(i - 1); // a machine's last window ends what is open
                open = null;
                if (i == windows.Count) break;
            }
            var (next, change) = rule.Step(open, alarms[i]);
            if (open is null && next is not null) (first, labelled) = (i, false);
            if (next is not null) labelled |= windows.Kinds?[i] is not null;
            if (change == AlarmChange.Raised)
            {
                spans.Add((windows.Machine[i], Start(data, windows, first), End(data, windows, window, i), End(data, windows, window, i)));
                for (var j = first; j <= i; j++) episodeOf[j] = spans.Count - 1;
            }
            else if (next is { Raised: true })
                episodeOf[i] = spans.Count - 1;
            if (change == AlarmChange.Cleared) Close(i - 1); // the clearing window is not part of the episode
            open = next;
        }

        void Close(int last)
        {
            if (open is not { Raised: true }) return;
            spans[^1] = spans[^1] with { End = End(data, windows, window, last) };
            if (!labelled) falseEpisodes++;
        }

        var delays = new List<double>();
        foreach (var e in events)
            if (spans.Where(p => p.Machine == e.Machine && p.End >= e.Start && p.Start <= e.End).Select(p => (double?)p.RaisedAt).FirstOrDefault() is { } raised)
                delays.Add(Math.Max(0, raised - e.Start) / 1000.0);
        return new EpisodeReport(episodeOf, spans.Count, falseEpisodes, days, events.Count, delays.Count, [.. delays]);
    }

    private static long Start(SensorData data, WindowSet windows, int i) => data.Machines[windows.Machine[i]].Timestamps[windows.Start[i]];

    private static long End(SensorData data, WindowSet windows, int window, int i) =>
        data.Machines[windows.Machine[i]].Timestamps[windows.Start[i] + window - 1];
}

/// <summary>The obvious alternative every run is compared with: a rolling Gaussian per feature. A reading's score is its
/// largest absolute z-score against the mean and standard deviation of the <c>history</c> readings of its machine
/// before it; a window's score is the largest of its readings'. Its threshold is chosen like the model's, for the target
/// false-positive rate on the validation windows.</summary>
public static class RollingGaussian
{
    public static double[] WindowScores(SensorData data, WindowSet windows, int window, int history)
    {
        var readings = data.Machines.Select(m => ReadingScores(m, data.Features.Length, history)).ToArray();
        var scores = new double[windows.Count];
        for (var i = 0; i < windows.Count; i++)
        {
            var r = readings[windows.Machine[i]];
            var max = 0.0;
            for (var t = windows.Start[i]; t < windows.Start[i] + window; t++) max = Math.Max(max, r[t]);
            scores[i] = max;
        }
        return scores;
    }

    /// <summary>Per reading, the largest |z| over the features against the trailing <paramref name="history"/> readings (0
    /// until that history exists; a constant feature scores 0 until it moves, then by its deviation over 1e-6).</summary>
    public static double[] ReadingScores(MachineSeries m, int features, int history)
    {
        var scores = new double[m.Length];
        var (sum, sumSq) = (new double[features], new double[features]);
        for (var t = 0; t < m.Length; t++)
        {
            if (t >= history)
            {
                var max = 0.0;
                for (var k = 0; k < features; k++)
                {
                    var mean = sum[k] / history;
                    var std = Math.Sqrt(Math.Max(0, sumSq[k] / history - mean * mean));
                    max = Math.Max(max, Math.Abs(m.Values[t * features + k] - mean) / Math.Max(std, 1e-6));
                }
                scores[t] = max;
                for (var k = 0; k < features; k++)
                {
                    double old = m.Values[(t - history) * features + k];
                    sum[k] -= old;
                    sumSq[k] -= old * old;
                }
            }
            for (var k = 0; k < features; k++)
            {
                double v = m.Values[t * features + k];
                sum[k] += v;
                sumSq[k] += v * v;
            }
        }
        return scores;
    }
}
