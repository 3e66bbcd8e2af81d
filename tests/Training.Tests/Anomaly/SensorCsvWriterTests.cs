using EventMlOps.Training.Anomaly;

namespace EventMlOps.Training.Tests.Anomaly;

public class SensorCsvWriterTests
{
    [Fact]
    public void Given_generated_readings_When_written_and_loaded_again_Then_machines_values_timestamps_and_labels_survive()
    {
        var generated = SensorGenerator.Generate(new SensorGeneratorOptions(Machines: 2, Days: 1, NormalFraction: 0.3, Seed: 5));
        var csv = new StringWriter();

        SensorCsvWriter.Write(generated, csv);
        var loaded = SensorCsvLoader.Load(new StringReader(csv.ToString()), "readings.csv", []);

        loaded.Features.ShouldBe(generated.Features);
        loaded.Machines.Count.ShouldBe(2);
        for (var m = 0; m < 2; m++)
        {
            loaded.Machines[m].Machine.ShouldBe(generated.Machines[m].Machine);
            loaded.Machines[m].Values.ShouldBe(generated.Machines[m].Values);
            loaded.Machines[m].Timestamps.ShouldBe(generated.Machines[m].Timestamps);
            loaded.Machines[m].Labels.ShouldBe(generated.Machines[m].Labels);
        }
        generated.Machines.SelectMany(m => m.Labels!).ShouldContain(l => l != null, "a stream with injected anomalies");
    }

    [Fact]
    public void Given_a_recalibration_halfway_When_generated_Then_temperatures_read_that_much_more_from_then_on_and_nothing_else_changes()
    {
        var options = new SensorGeneratorOptions(Machines: 2, Days: 1, NormalFraction: 0.5, Seed: 7);
        var plain = SensorGenerator.Generate(options);
        var recalibrated = SensorGenerator.Generate(options with { Recalibration = 4.5, RecalibratedFrom = 0.5 });

        for (var m = 0; m < 2; m++)
        {
            var (before, after) = (plain.Machines[m].Values, recalibrated.Machines[m].Values);
            var from = plain.Machines[m].Length / 2;
            for (var t = 0; t < plain.Machines[m].Length; t++)
            {
                after[t * 3].ShouldBe(before[t * 3] + (t >= from ? 4.5f : 0f), 1e-4, $"temperature at {t}");
                after[t * 3 + 1].ShouldBe(before[t * 3 + 1]);
                after[t * 3 + 2].ShouldBe(before[t * 3 + 2]);
            }
            recalibrated.Machines[m].Labels.ShouldBe(plain.Machines[m].Labels, "a recalibration is drift, not an anomaly");
        }
    }

    [Fact]
    public void Given_the_generate_verb_When_run_Then_it_writes_the_csv_and_refuses_a_missing_out_with_exit_code_2()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sensors-{Guid.NewGuid():N}.csv");
        try
        {
            var (output, errors) = (new StringWriter(), new StringWriter());
            TrainerProgram.Run(["generate", "sensors", "--machines", "1", "--days", "0.5", "--recalibration", "3", "--recalibrated-from", "0.5", "--out", path],
                    output, errors, _ => null)
                .ShouldBe(TrainerProgram.Ok, errors.ToString());
            output.ToString().ShouldContain("wrote 720 readings of 1 machines");
            File.ReadLines(path).First().ShouldBe("machine,timestamp,temperature,vibration,pressure,label");

            TrainerProgram.Run(["generate", "sensors", "--days", "1"], output, errors, _ => null).ShouldBe(TrainerProgram.BadUsage);
            errors.ToString().ShouldContain("--out <file.csv> is required");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
