using EventMlOps.Serving.Streams;

namespace EventMlOps.Serving.Tests.Streams;

/// <summary>Event-time windows of one machine: 4 readings a window, a new one every 2, one a second, one feature.</summary>
public sealed class WindowingTests
{
    private static StreamShape Shape(long latenessMs = 0) => new(Steps: 4, Stride: 2, Features: 1, IntervalMs: 1000, LatenessMs: latenessMs);

    private static (MachineWindows State, List<Placement> Placed, List<ClosedWindow> Closed) Given(StreamShape shape, params long[] seconds)
    {
        var state = new MachineWindows();
        var placed = new List<Placement>();
        var closed = new List<ClosedWindow>();
        foreach (var s in seconds)
        {
            placed.Add(state.Add(s * 1000, [s], shape));
            closed.AddRange(state.Close(shape));
        }
        return (state, placed, closed);
    }

    private static string Shown(ClosedWindow w) => $"{w.StartSlot}: {(w.Readings is null ? "incomplete" : string.Join(' ', w.Readings))}";

    [Fact]
    public void Given_readings_in_order_When_each_window_fills_Then_it_closes_at_its_last_reading_with_the_readings_time_major()
    {
        var (state, _, closed) = Given(Shape(), 10, 11, 12, 13, 14, 15);

        closed.Select(Shown).ShouldBe(["10: 10 11 12 13", "12: 12 13 14 15"]);
        (state.Readings, state.NextStart, string.Join(' ', state.Slots.Keys)).ShouldBe((6L, 14L, "14 15"));
    }

    [Fact]
    public void Given_a_window_open_When_a_reading_arrives_out_of_order_within_the_lateness_Then_it_is_placed_and_the_window_is_whole()
    {
        var (_, placed, closed) = Given(Shape(latenessMs: 2000), 10, 11, 13, 14, 12, 15, 16);

        placed.ShouldAllBe(p => p == Placement.Placed);
        // The first window begins the lateness before the first reading, for readings still to come: 8..11 never filled.
        closed.Select(Shown).ShouldBe(["8: incomplete", "10: 10 11 12 13"]);
    }

    [Fact]
    public void Given_the_watermark_passed_a_reading_When_it_arrives_Then_it_is_dropped_as_late_and_its_window_closed_without_it()
    {
        var (state, placed, closed) = Given(Shape(latenessMs: 1000), 10, 11, 13, 14, 12);

        placed.ShouldBe([Placement.Placed, Placement.Placed, Placement.Placed, Placement.Placed, Placement.Late]);
        closed.Select(Shown).ShouldBe(["8: incomplete", "10: incomplete"]); // slot 12 missing: not scored
        (state.Late, state.Incomplete, state.Readings).ShouldBe((1L, 2L, 4L));
    }

    [Fact]
    public void Given_a_slot_filled_When_a_second_reading_for_it_arrives_Then_it_is_a_duplicate_that_replaces_the_first_as_the_trainer_keeps_the_later()
    {
        var (shape, state) = (Shape(latenessMs: 5000), new MachineWindows());
        state.Add(10_000, [10], shape);
        state.Add(11_000, [11], shape);

        state.Add(11_400, [99], shape).ShouldBe(Placement.Duplicate);

        state.Slots[11].ShouldBe([99f]);
        state.Readings.ShouldBe(2);
    }

    [Fact]
    public void Given_a_gap_tolerance_When_slots_are_missing_Then_a_short_gap_is_filled_with_the_last_reading_and_a_longer_one_leaves_windows_unscored()
    {
        // 12 is missing (one slot: filled from 11); 16..18 are missing (three slots: only 16 is filled, so 17 is a gap).
        var (state, _, closed) = Given(Shape() with { FillSlots = 1 }, 10, 11, 13, 14, 15, 19, 20, 21, 22, 23);

        closed.Select(Shown).ShouldBe(["10: 10 11 11 13", "12: 11 13 14 15", "14: incomplete", "16: incomplete", "18: incomplete", "20: 20 21 22 23"]);
        state.Incomplete.ShouldBe(3);
    }

    [Fact]
    public void Given_a_gap_at_a_window_start_When_the_reading_before_it_carries_Then_it_was_kept_past_the_previous_window_to_fill_it()
    {
        // Windows 10..13 and 12..15, then 16 and 17 missing: with two slots filled, 15 carries into both.
        var (_, _, closed) = Given(Shape() with { FillSlots = 2 }, 10, 11, 12, 13, 14, 15, 18, 19, 20, 21);

        closed.Select(Shown).ShouldBe(["10: 10 11 12 13", "12: 12 13 14 15", "14: 14 15 15 15", "16: 15 15 18 19", "18: 18 19 20 21"]);
    }

    [Fact]
    public void Given_a_gap_tolerance_When_windows_close_Then_only_the_last_reading_before_the_next_window_is_kept_and_only_while_it_carries()
    {
        // Stride 2 over readings 10..15: after 12..15 closes, the next window starts at 14; of 10..13 only 13 stays (it could
        // fill 14), though 11 and 12 are within the tolerance too.
        var (kept, _, _) = Given(Shape() with { FillSlots = 3 }, 10, 11, 12, 13, 14, 15);
        string.Join(' ', kept.Slots.Keys).ShouldBe("13 14 15");
        // Stride 4: after 12..15 closes the next window starts at 16, and 15 alone may fill it.
        var (carrying, _, _) = Given(Shape() with { FillSlots = 3, Stride = 4 }, 10, 11, 12, 13, 14, 15);
        string.Join(' ', carrying.Slots.Keys).ShouldBe("15");
        // Without a tolerance nothing before the next window stays.
        string.Join(' ', Given(Shape(), 10, 11, 12, 13, 14, 15).State.Slots.Keys).ShouldBe("14 15");
    }

    [Fact]
    public void Given_a_machine_When_its_event_time_jumps_by_years_Then_only_windows_holding_readings_are_closed()
    {
        var (state, _, closed) = Given(Shape(), 10, 11, 12, 13, 100_000_000, 100_000_001, 100_000_002, 100_000_003);

        // 12..15 held only 12 and 13; 99,999,998..100,000,001 only the last two; nothing in between is visited.
        closed.Select(Shown).ShouldBe(["10: 10 11 12 13", "12: incomplete", "99999998: incomplete", "100000000: 100000000 100000000 100000000 100000000"]);
        state.NextStart.ShouldBe(100_000_002L);
    }

    [Fact]
    public void Given_readings_off_the_sampling_grid_When_placed_Then_each_takes_the_nearest_slot()
    {
        var shape = Shape();

        (shape.Slot(10_400), shape.Slot(10_600), shape.Slot(-400)).ShouldBe((10L, 11L, 0L));
    }
}
