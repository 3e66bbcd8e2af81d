using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Tests.Anomaly;

/// <summary>Readings are placed in event time at the series' sampling interval, as the stream scorer places them: the
/// later of two readings in one slot is kept, and no window spans a slot without a reading.</summary>
public class CadenceTests
{
    private const long Minute = 60_000;

    /// <summary>One machine, one feature: readings at minutes 0–5, a second reading in minute 3 (20 s later), nothing at
    /// minutes 6–8, then minutes 9–12. The value is the minute, 3.5 for the duplicate.</summary>
    private static SensorData Data()
    {
        long[] minutes = [0, 1, 2, 3, 3, 4, 5, 9, 10, 11, 12];
        var times = minutes.Select((m, i) => m * Minute + (i == 4 ? 20_000 : 0)).ToArray();
        float[] values = [.. minutes.Select((m, i) => i == 4 ? 3.5f : m)];
        return new SensorData { Features = ["x"], Machines = [new MachineSeries { Machine = "m1", Timestamps = times, Values = values,
            Labels = [.. minutes.Select(_ => (string?)null)] }] };
    }

    [Fact]
    public void Given_a_duplicate_and_a_gap_When_readings_are_placed_at_the_inferred_interval_Then_the_later_reading_is_kept_and_the_gap_marked()
    {
        var placed = Cadence.Place(Data(), intervalMs: null);

        (placed.IntervalMs, placed.Duplicates, placed.Gaps).ShouldBe((Minute, 1L, 1L));
        var m = placed.Data.Machines[0];
        m.Values.ShouldBe([0f, 1, 2, 3.5f, 4, 5, 9, 10, 11, 12]);
        m.Gaps!.Select((g, i) => (g, i)).Where(p => p.g).Select(p => p.i).ShouldBe([6]);
        m.Labels!.Length.ShouldBe(10);
    }

    [Fact]
    public void Given_a_gap_When_windows_are_taken_Then_none_spans_it()
    {
        var data = Cadence.Place(Data(), intervalMs: null).Data;

        var windows = TimelineSplit.Windows(data, 3, 1, m => (0, m.Length));

        Enumerable.Range(0, windows.Count).Select(i => windows.Row(i)[0]).ShouldBe([0f, 1, 2, 3.5f, 9, 10]);
    }

    [Fact]
    public void Given_a_coarser_cadence_When_readings_are_placed_Then_they_fall_into_its_slots()
    {
        var placed = Cadence.Place(Data(), Cadence.Parse("2m", "cadence"));

        // Slots of two minutes (nearest): 0→0, 1→1 (0.5 rounds up), 2→1, 3→2, 3:20→2, 4→2, 5→3, 9→5, 10→5, 11→6, 12→6.
        (placed.IntervalMs, placed.Duplicates, placed.Gaps).ShouldBe((2 * Minute, 5L, 1L));
        placed.Data.Machines[0].Values.ShouldBe([0f, 2, 4, 5, 10, 12]);
    }

    [Theory]
    [InlineData("60")]
    [InlineData("0s")]
    [InlineData("fast")]
    public void Given_an_unreadable_cadence_When_parsed_Then_it_is_a_usage_error_naming_the_form(string text) =>
        Should.Throw<UsageException>(() => Cadence.Parse(text, "cadence")).Message
            .ShouldBe($"--cadence must be a sampling interval such as 500ms, 60s, 5m or 1h, not '{text}'");
}
