using EventMlOps.Training.Anomaly;

namespace EventMlOps.Training.Tests.Anomaly;

public class SensorGeneratorTests
{
    private static readonly SensorGeneratorOptions Options = new(Machines: 3, Days: 10, NormalFraction: 0.7, Seed: 9);

    [Fact]
    public void Given_the_same_seed_When_generated_twice_Then_readings_and_labels_are_identical()
    {
        var a = SensorGenerator.Generate(Options);
        var b = SensorGenerator.Generate(Options);

        for (var m = 0; m < 3; m++)
        {
            b.Machines[m].Values.ShouldBe(a.Machines[m].Values);
            b.Machines[m].Labels.ShouldBe(a.Machines[m].Labels);
        }
        SensorGenerator.Generate(Options with { Seed = 10 }).Machines[0].Values.SequenceEqual(a.Machines[0].Values).ShouldBeFalse();
    }

    [Fact]
    public void Given_a_normal_share_When_generated_Then_anomalies_of_every_kind_occur_only_after_it()
    {
        var data = SensorGenerator.Generate(Options);

        data.Features.ShouldBe(["temperature", "vibration", "pressure"]);
        data.Machines.Count.ShouldBe(3);
        foreach (var m in data.Machines)
        {
            m.Length.ShouldBe(10 * 1440);
            m.Labels!.Take((int)(m.Length * 0.7)).ShouldAllBe(l => l == null);
            m.Labels!.Skip((int)(m.Length * 0.7)).Count(l => l != null).ShouldBeGreaterThan(0);
        }
        data.Machines.SelectMany(m => m.Labels!).OfType<string>().Distinct().Order().ShouldBe(["drift", "rising_vibration", "spike", "stuck"]);
    }

    [Fact]
    public void Given_labelled_readings_When_windowed_Then_windows_are_time_major_and_anomalous_when_any_reading_is()
    {
        var series = new MachineSeries
        {
            Machine = "m",
            Timestamps = [0, 1, 2, 3],
            Values = [1, 10, 2, 20, 3, 30, 4, 40],
            Labels = [null, null, "spike", null],
        };
        var data = new SensorData { Features = ["a", "b"], Machines = [series] };

        var windows = TimelineSplit.Windows(data, 2, 1, m => (0, m.Length));

        windows.Count.ShouldBe(3);
        windows.Width.ShouldBe(4);
        windows.Row(1).ToArray().ShouldBe([2f, 20f, 3f, 30f]);
        windows.Kinds.ShouldBe([null, "spike", "spike"]);
    }
}
