using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Tests.Anomaly;

/// <summary>Readings are placed in event time at the series' sampling interval, as the stream scorer places them: the
/// later of two readings in one slot is kept, and no window spans a slot without a reading.</summary>
public class CadenceTests
{
    private const long Minute = 60_000;

    /// <summary>One machine, one feature: readings at minutes 0–5, a second reading in minute 3 (5 s later), nothing at
    /// minutes 6–8, then minutes 9–12. The value is the minute, 3.5 for the duplicate.</summary>
    private static SensorData Data()
    {
        long[] minutes = [0, 1, 2, 3, 3, 4, 5, 9, 10, 11, 12];
        var times = minutes.Select((m, i) => m * Minute + (i == 4 ? 5_000 : 0)).ToArray();
        float[] values = [.. minutes.Select((m, i) => i == 4 ? 3.5f : m)];
        return new SensorData { Features = ["x"], Machines = [new MachineSeries { Machine = "m1", Timestamps = times, Values = values,
            Labels = [.. minutes.Select(_ => (string?)null)] }] };
    }

    [Fact]
    public void Given_a_duplicate_and_a_gap_When_readings_are_placed_at_the_inferred_interval_Then_the_later_reading_is_kept_and_the_gap_marked()
    {
        var placed = Cadence.Place(Data(), intervalMs: null, window: 3);

        (placed.IntervalMs, placed.Duplicates, placed.Gaps).ShouldBe((Minute, 1L, 1L));
        var m = placed.Data.Machines[0];
        m.Values.ShouldBe([0f, 1, 2, 3.5f, 4, 5, 9, 10, 11, 12]);
        m.Gaps!.Select((g, i) => (g, i)).Where(p => p.g).Select(p => p.i).ShouldBe([6]);
        m.Labels!.Length.ShouldBe(10);
    }

    [Fact]
    public void Given_a_gap_When_windows_are_taken_Then_none_spans_it()
    {
        var data = Cadence.Place(Data(), intervalMs: null, window: 3).Data;

        var windows = TimelineSplit.Windows(data, 3, 1, m => (0, m.Length));

        Enumerable.Range(0, windows.Count).Select(i => windows.Row(i)[0]).ShouldBe([0f, 1, 2, 3.5f, 9, 10]);
    }

    [Fact]
    public void Given_a_coarser_cadence_When_readings_are_placed_Then_they_fall_into_its_slots()
    {
        var placed = Cadence.Place(Data(), Cadence.Parse("2m", "cadence"), window: 3);

        // Slots of two minutes (nearest): 0→0, 1→1 (0.5 rounds up), 2→1, 3→2, 3:05→2, 4→2, 5→3, 9→5, 10→5, 11→6, 12→6.
        (placed.IntervalMs, placed.Duplicates, placed.Gaps).ShouldBe((2 * Minute, 5L, 1L));
        placed.Data.Machines[0].Values.ShouldBe([0f, 2, 4, 5, 10, 12]);
    }

    [Theory]
    [InlineData("60")]
    [InlineData("0s")]
    [InlineData("fast")]
    public void Given_an_unreadable_cadence_When_parsed_Then_it_is_a_usage_error_naming_the_form(string text) =>
        Should.Throw<UsageException>(() => Cadence.Parse(text, "cadence")).Message
            .ShouldBe($"--cadence must be a duration such as 500ms, 60s, 5m or 1h, not '{text}'");

    [Theory]
    [InlineData("1m", new[] { 0f, 1, 2, 3.5f, 4, 5, 5, 9, 10, 11, 12 }, 7, 1)] // minute 6 filled with minute 5; 7–8 a gap
    [InlineData("3m", new[] { 0f, 1, 2, 3.5f, 4, 5, 5, 5, 5, 9, 10, 11, 12 }, -1, 0)] // the whole gap filled
    [InlineData("0", new[] { 0f, 1, 2, 3.5f, 4, 5, 9, 10, 11, 12 }, 6, 1)]
    public void Given_a_gap_tolerance_When_readings_are_placed_Then_slots_it_covers_are_filled_with_the_last_reading_and_a_longer_gap_stays_one(
        string tolerance, float[] values, int gapAt, long gaps)
    {
        var placed = Cadence.Place(Data(), intervalMs: null, window: 4, Cadence.Parse(tolerance, "gap-tolerance", zero: true)!.Value);

        var m = placed.Data.Machines[0];
        m.Values.ShouldBe(values);
        (placed.Gaps, placed.Filled).ShouldBe((gaps, (long)(values.Length - 10)));
        (m.Gaps?.Select((g, i) => (g, i)).Where(p => p.g).Select(p => p.i).Single() ?? -1).ShouldBe(gapAt);
        m.Timestamps.ShouldBeInOrder();
        // Windows run over filled slots as the stream scorer's do: none across the gap that stays.
        TimelineSplit.Windows(placed.Data, 4, 1, s => (0, s.Length)).Count.ShouldBe(values.Length - 3 - (gapAt >= 0 ? 3 : 0));
    }

    [Fact]
    public void Given_a_gap_tolerance_of_a_window_or_more_When_readings_are_placed_Then_it_is_refused_before_any_reading_is_made_up() =>
        // Three minutes fill three readings: windows of 3 could then hold no real reading (and a long outage be filled at length).
        Should.Throw<UsageException>(() => Cadence.Place(Data(), intervalMs: null, window: 3, gapToleranceMs: 3 * Minute)).Message.ShouldBe(
            "--gap-tolerance fills up to 3 missing readings, a window's worth or more (windows of 3 readings 60,000 apart): keep it under a window");

    /// <summary>A minute series whose readings come at uneven times: steps of 60, 97, 23, 60 … seconds.</summary>
    private const string Irregular = """
        timestamp,x
        2024-01-01T00:00:00Z,1
        2024-01-01T00:01:00Z,2
        2024-01-01T00:02:37Z,3
        2024-01-01T00:03:00Z,4
        2024-01-01T00:04:00Z,5
        2024-01-01T00:05:00Z,6
        2024-01-01T00:05:50Z,7
        2024-01-01T00:07:00Z,8
        """;

    [Fact]
    public void Given_an_irregular_series_When_its_cadence_is_inferred_Then_it_is_refused_naming_the_first_line_off_the_cadence()
    {
        var data = SensorCsvLoader.Load(new StringReader(Irregular), "readings.csv", []);

        Should.Throw<UsageException>(() => Cadence.Place(data, intervalMs: null, window: 3, source: "readings.csv")).Message.ShouldBe(
            "readings.csv: line 4: a step of 97,000 ms after the previous reading, no multiple of the inferred cadence 60,000 ms (as 4 of 7 steps): " +
            "the series is irregular; --cadence <interval> resamples it (the last reading of each interval is kept)");
    }

    [Fact]
    public void Given_an_irregular_series_When_a_cadence_is_given_Then_it_is_resampled_onto_that_grid_keeping_the_last_reading_of_each_slot()
    {
        var data = SensorCsvLoader.Load(new StringReader(Irregular), "readings.csv", []);

        var placed = Cadence.Place(data, Cadence.Parse("2m", "cadence"), window: 3, source: "readings.csv");

        // Two-minute slots (nearest): 0:00→0, 1:00→1, 2:37→1, 3:00→2, 4:00→2, 5:00→3, 5:50→3, 7:00→4.
        placed.Data.Machines[0].Values.ShouldBe([1f, 3, 5, 7, 8]);
        (placed.Duplicates, placed.Gaps).ShouldBe((3L, 0L));
    }
}
