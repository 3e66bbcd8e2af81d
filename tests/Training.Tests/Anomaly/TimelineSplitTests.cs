using EventMlOps.Training.Anomaly;

namespace EventMlOps.Training.Tests.Anomaly;

/// <summary>The split of each machine's timeline: by shares or at two moments; readings labelled as anomalies are what
/// the detector must not learn as normal, so they are left out of the training and validation parts (windows,
/// normalisation) unless kept on purpose.</summary>
public class TimelineSplitTests
{
    /// <summary>One machine, 20 readings of one feature (the value is the index), labelled at 3 (training part) and 13
    /// (validation part) and 17 (test part); parts 0–9, 10–14, 15–19.</summary>
    private static SensorData Data()
    {
        var labels = new string?[20];
        labels[3] = labels[13] = labels[17] = "spike";
        return new SensorData
        {
            Features = ["x"],
            Machines = [new MachineSeries { Machine = "m1", Timestamps = [.. Enumerable.Range(0, 20).Select(i => i * 60_000L)],
                Values = [.. Enumerable.Range(0, 20).Select(i => (float)i)], Labels = labels }],
        };
    }

    private static readonly TimelineSplit Split = new(0.5, 0.25);

    [Fact]
    public void Given_labelled_readings_in_the_normal_parts_When_windows_are_taken_Then_none_holds_one_and_the_test_part_keeps_them()
    {
        var data = Data();

        var train = Split.TrainWindows(data, window: 3, stride: 1);
        var validation = Split.ValidationWindows(data, window: 3);
        var test = TimelineSplit.Windows(data, 3, 1, Split.Test);

        Starts(train).ShouldBe([0, 4, 5, 6, 7]);               // the windows over 3 (starting at 1, 2, 3) are out
        Starts(validation).ShouldBe([10]);                      // 11, 12 hold 13; 13 would
        Starts(test).ShouldBe([15, 16, 17]);
        test.Kinds.ShouldBe(["spike", "spike", "spike"]);
        (TimelineSplit.Labelled(data, Split.Train), TimelineSplit.Labelled(data, Split.Validation), TimelineSplit.Labelled(data, Split.Test))
            .ShouldBe((1L, 1L, 1L));
    }

    [Fact]
    public void Given_labelled_readings_kept_on_purpose_When_windows_are_taken_Then_every_window_of_the_part_is()
    {
        var kept = Split with { KeepLabelled = true };

        Starts(kept.TrainWindows(Data(), 3, 1)).ShouldBe([0, 1, 2, 3, 4, 5, 6, 7]);
        Starts(kept.ValidationWindows(Data(), 3)).ShouldBe([10, 11, 12]);
    }

    [Fact]
    public void Given_a_labelled_training_reading_When_the_normalisation_is_computed_Then_it_is_left_out_unless_kept_and_even_kept_barely_moves_it()
    {
        var labels = new string?[20];
        labels[0] = "spike";
        var data = Data();
        var spiked = new SensorData { Features = data.Features, Machines = [new MachineSeries { Machine = "m1", Timestamps = data.Machines[0].Timestamps,
            Values = [1000f, .. data.Machines[0].Values.Skip(1)], Labels = labels }] };

        var (centre, scale) = AnomalyTrainer.Normalisation(spiked, Split);
        var (keptCentre, keptScale) = AnomalyTrainer.Normalisation(spiked, Split with { KeepLabelled = true });

        new[] { centre[0], scale[0] }.ShouldBe([5f, 4 / 1.349f], 1e-5f);             // 1..9: median 5, quartiles 3 and 7
        new[] { keptCentre[0], keptScale[0] }.ShouldBe([5.5f, 4.5f / 1.349f], 1e-5f); // 1..9 and 1000: median and quartiles, not a mean of 104.5
    }

    [Fact]
    public void Given_two_moments_When_the_timeline_is_split_Then_each_part_ends_with_the_last_reading_at_or_before_its_moment()
    {
        var m = Data().Machines[0];
        var split = new TimelineSplit(0.6, 0.2, TrainUntil: 9 * 60_000L, ValidateUntil: 14 * 60_000L + 30_000);

        (split.Train(m), split.Validation(m), split.Test(m)).ShouldBe(((0, 10), (10, 15), (15, 20)));
        // Moments before the first or after the last reading leave parts empty, never reversed.
        var early = new TimelineSplit(0.6, 0.2, TrainUntil: -1, ValidateUntil: 100 * 60_000L);
        (early.Train(m), early.Validation(m), early.Test(m)).ShouldBe(((0, 0), (0, 20), (20, 20)));
    }

    /// <summary>Each window's first value is its start (the value is the index).</summary>
    private static int[] Starts(WindowSet windows) => [.. Enumerable.Range(0, windows.Count).Select(i => (int)windows.Row(i)[0])];
}
