using EventMlOps.Models;
using EventMlOps.Training.Anomaly;

namespace EventMlOps.Training.Tests.Anomaly;

/// <summary>Alarm episodes, detection delays and the rolling z-score against hand-computed examples.</summary>
public class EpisodesTests
{
    private const long Minute = 60_000;

    /// <summary>Two machines, one feature, one reading a minute. m1: minutes 0–11, labelled 5–6 ("spike"); m2: minutes
    /// 0–3, a gap, then 7–9 (no labels). The value is the minute.</summary>
    private static SensorData Data()
    {
        long[] m1 = [.. Enumerable.Range(0, 12)];
        long[] m2 = [0, 1, 2, 3, 7, 8, 9];
        return Cadence.Place(new SensorData
        {
            Features = ["x"],
            Machines =
            [
                new MachineSeries { Machine = "m1", Timestamps = [.. m1.Select(m => m * Minute)], Values = [.. m1.Select(m => (float)m)],
                    Labels = [.. m1.Select(m => m is 5 or 6 ? "spike" : null)] },
                new MachineSeries { Machine = "m2", Timestamps = [.. m2.Select(m => m * Minute)], Values = [.. m2.Select(m => (float)m)],
                    Labels = [.. m2.Select(_ => (string?)null)] },
            ],
        }, Minute, window: 2).Data;
    }

    private static readonly AlarmRule EveryWindow = new(RaiseAfter: 1, ClearAfter: 1);

    [Fact]
    public void Given_alarmed_windows_When_every_alarmed_window_counts_Then_consecutive_ones_of_a_machine_merge_and_a_quiet_window_ends_an_episode()
    {
        var data = Data();
        // Windows of 2 readings: m1 starts 0–10 (11 windows), m2 starts 0,1,2 and 4,5 (the gap between minutes 3 and 7 is not spanned).
        var windows = TimelineSplit.Windows(data, 2, 1, m => (0, m.Length));
        windows.Count.ShouldBe(16);
        windows.Start.Skip(11).ShouldBe([0, 1, 2, 4, 5]);
        // m1: alarms on windows starting 1, 2 (false), 4, 5 (over the label), 8 (false). m2: windows 2 (minutes 2–3) and 4 (7–8):
        // consecutive scored windows, as the stream scorer sees them across the gap: one episode.
        bool[] alarms = [false, true, true, false, true, true, false, false, true, false, false, false, false, true, true, false];
        var events = Episodes.Events(data, m => (0, m.Length));
        events.ShouldBe([new LabelledEvent(0, 5 * Minute, 6 * Minute, "spike")]);

        var report = Episodes.Evaluate(data, windows, alarms, events, 2, EveryWindow, days: 0.5);

        report.EpisodeOf.ShouldBe([-1, 0, 0, -1, 1, 1, -1, -1, 2, -1, -1, -1, -1, 3, 3, -1]);
        (report.Episodes, report.FalseEpisodes).ShouldBe((4, 3));
        report.FalseEpisodesPerDay.ShouldBe(6);
        // The event starts at minute 5; the window that raised the alarm over it (minutes 4–5) ends at minute 5: no delay.
        (report.Events, report.Detected).ShouldBe((1, 1));
        report.Delays.ShouldBe([0.0]);
    }

    [Fact]
    public void Given_the_stream_scorer_s_rule_When_evaluated_Then_a_blip_pages_nobody_and_an_alarm_is_raised_after_three_and_cleared_after_three()
    {
        var data = Data();
        var windows = TimelineSplit.Windows(data, 2, 1, m => (0, m.Length));
        // m1 (windows 0–10): a blip at 0; 2, 3, 4 raise (dated from 2); 5 normal, 6 anomalous again, 7, 8, 9 normal clear at 9;
        // 10 opens one that the machine's end leaves pending. m2: one blip.
        bool[] alarms = [true, false, true, true, true, false, true, false, false, false, true, false, true, false, false, false];

        var report = Episodes.Evaluate(data, windows, alarms, Episodes.Events(data, m => (0, m.Length)), 2, new AlarmRule(), days: 1);

        report.EpisodeOf.ShouldBe([-1, -1, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1]);
        (report.Episodes, report.FalseEpisodes).ShouldBe((1, 0), "the one alarm holds the labelled windows");
        report.Delays.ShouldBe([0.0], "raised at the end of the window over minutes 4–5, as the event began");
    }

    [Fact]
    public void Given_an_event_first_alarmed_by_a_later_window_When_evaluated_Then_the_delay_runs_to_that_window_s_end()
    {
        var data = Data();
        var windows = TimelineSplit.Windows(data, 2, 1, m => (0, m.Length));
        var alarms = new bool[windows.Count];
        alarms[5] = true; // minutes 5–6 on m1

        var report = Episodes.Evaluate(data, windows, alarms, Episodes.Events(data, m => (0, m.Length)), 2, EveryWindow, days: 1);

        report.Delays.ShouldBe([60.0], "the event began at minute 5, the alarm's window ends at minute 6");
        (report.Episodes, report.FalseEpisodes).ShouldBe((1, 0));
    }

    [Fact]
    public void Given_an_alarm_cleared_by_the_window_before_an_event_When_evaluated_Then_the_clearing_window_neither_detects_nor_excuses_it()
    {
        var data = Data();
        var windows = TimelineSplit.Windows(data, 2, 1, m => (0, m.Length));
        var alarms = new bool[windows.Count];
        alarms[3] = true; // minutes 3–4 on m1; window 4 (minutes 4–5, over the event) clears it

        var report = Episodes.Evaluate(data, windows, alarms, Episodes.Events(data, m => (0, m.Length)), 2, EveryWindow, days: 1);

        (report.Episodes, report.FalseEpisodes, report.Detected).ShouldBe((1, 1, 0));
    }

    [Fact]
    public void Given_no_alarm_When_evaluated_Then_the_event_is_missed_and_there_is_no_delay()
    {
        var data = Data();
        var windows = TimelineSplit.Windows(data, 2, 1, m => (0, m.Length));

        var report = Episodes.Evaluate(data, windows, new bool[windows.Count], Episodes.Events(data, m => (0, m.Length)), 2, EveryWindow, days: 1);

        (report.Episodes, report.Detected, report.Events).ShouldBe((0, 0, 1));
        double.IsNaN(report.MedianDelaySeconds).ShouldBeTrue();
    }

    [Fact]
    public void Given_a_part_When_its_days_are_counted_Then_each_machine_s_span_counts_with_one_interval_for_its_last_reading() =>
        // m1: 12 minutes; m2: 0..9 → 10 minutes.
        Episodes.Days(Data(), m => (0, m.Length), Minute).ShouldBe(22.0 / 1440, 1e-12);

    [Fact]
    public void Given_a_step_after_a_steady_history_When_scored_by_the_rolling_z_score_Then_the_step_scores_its_deviation_over_the_history_s_spread()
    {
        // History of 4: values 1,3,1,3 (mean 2, population std 1), then 5 → |5 − 2| / 1 = 3; the next window of history is 3,1,3,5.
        var m = new MachineSeries { Machine = "m", Timestamps = [0, 1, 2, 3, 4, 5], Values = [1, 3, 1, 3, 5, 3] };

        var scores = RollingGaussian.ReadingScores(m, features: 1, history: 4);

        scores[..4].ShouldBe([0.0, 0, 0, 0], "no score until the history exists");
        scores[4].ShouldBe(3, 1e-9);
        // History 3,1,3,5: mean 3, std √2 → |3 − 3| = 0.
        scores[5].ShouldBe(0, 1e-9);
    }

    [Fact]
    public void Given_windows_When_scored_by_the_rolling_z_score_Then_a_window_scores_its_largest_reading()
    {
        var data = Data();
        var windows = TimelineSplit.Windows(data, 3, 1, m => (0, m.Length));
        var readings = RollingGaussian.ReadingScores(data.Machines[0], 1, history: 2);

        var scores = RollingGaussian.WindowScores(data, windows, 3, history: 2);

        scores[4].ShouldBe(readings.Skip(4).Take(3).Max());
    }

    [Fact]
    public void Given_scored_windows_When_written_Then_scores_csv_has_one_line_per_window_with_its_episode_and_label_and_names_and_labels_are_safe()
    {
        var data = Data();
        var named = new SensorData
        {
            Features = data.Features,
            Machines = [.. data.Machines.Select((m, i) => new MachineSeries
            {
                Machine = i == 0 ? "=cmd|\"calc\"" : m.Machine, Timestamps = m.Timestamps, Values = m.Values, Gaps = m.Gaps,
                Labels = m.Labels?.Select(l => l is null ? null : "@SUM(1)").ToArray(),
            })],
        };
        var windows = TimelineSplit.Windows(named, 2, 1, m => (0, m.Length));
        var scores = Enumerable.Range(0, windows.Count).Select(i => i == 4 ? 2.5 : 0.5).ToArray();
        var alarms = scores.Select(s => s > 1).ToArray();
        var report = Episodes.Evaluate(named, windows, alarms, Episodes.Events(named, m => (0, m.Length)), 2, EveryWindow, 1);
        var path = Path.Combine(Path.GetTempPath(), $"scores-{Guid.NewGuid():N}.csv");
        try
        {
            AnomalyTrainer.WriteScores(path, named, windows, 2, scores, 1, report, new double[windows.Count], 3);

            var lines = File.ReadAllLines(path);
            lines[0].ShouldBe("machine,end,score,threshold,alarm,episode,label,zscore,zscore_threshold,zscore_alarm");
            lines.Length.ShouldBe(windows.Count + 1);
            lines[5].ShouldBe("\"'=cmd|\"\"calc\"\"\",1970-01-01T00:05:00.000Z,2.5,1,1,0,\"'@SUM(1)\",0,3,0");
            lines[1].ShouldBe("\"'=cmd|\"\"calc\"\"\",1970-01-01T00:01:00.000Z,0.5,1,0,,,0,3,0");
            lines[^1].ShouldStartWith("\"m2\",1970-01-01T00:09:00.000Z,");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
