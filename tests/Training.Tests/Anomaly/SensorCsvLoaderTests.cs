using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Tests.Anomaly;

public class SensorCsvLoaderTests
{
    private const string Csv = """
        timestamp,machine,temperature,vibration,pressure,label
        2024-01-01T00:01:00Z,m2,61.5,2.1,5.2,
        2024-01-01T00:00:00Z,m1,60.0,2.0,5.0,0
        2024-01-01T00:01:00Z,m1,60.5,2.2,5.1,spike
        2024-01-01T00:00:00Z,m2,61.0,2.0,5.1,1
        """;

    [Fact]
    public void Given_a_csv_with_machines_and_labels_When_loaded_Then_readings_are_grouped_per_machine_in_time_order()
    {
        var data = SensorCsvLoader.Load(new StringReader(Csv), "readings.csv", []);

        data.Features.ShouldBe(["temperature", "vibration", "pressure"]);
        data.Machines.Select(m => m.Machine).ShouldBe(["m2", "m1"]);
        var m1 = data.Machines[1];
        m1.Values.ShouldBe([60.0f, 2.0f, 5.0f, 60.5f, 2.2f, 5.1f]);
        m1.Labels.ShouldBe([null, "spike"]);
        data.Machines[0].Labels.ShouldBe(["anomaly", null], "1 is an anomaly of unknown kind; time order puts it first");
        m1.Timestamps[1].ShouldBe(m1.Timestamps[0] + 60_000);
        data.HasLabels.ShouldBeTrue();
    }

    [Fact]
    public void Given_chosen_features_When_loaded_Then_only_those_columns_are_features_in_that_order()
    {
        var data = SensorCsvLoader.Load(new StringReader(Csv), "readings.csv", ["pressure", "temperature"]);

        data.Features.ShouldBe(["pressure", "temperature"]);
        data.Machines[1].Values[..2].ShouldBe([5.0f, 60.0f]);
    }

    [Fact]
    public void Given_no_machine_or_label_column_When_loaded_Then_it_is_one_unlabelled_machine_with_numeric_timestamps()
    {
        var data = SensorCsvLoader.Load(new StringReader("timestamp,a,b\n1700000000,1,2\n1700000060,3,4\n"), "x.csv", []);

        data.Machines.Count.ShouldBe(1);
        data.HasLabels.ShouldBeFalse();
        data.Machines[0].Timestamps.ShouldBe([1700000000L, 1700000060L]);
    }

    [Theory]
    [InlineData("timestamp,a\n1,2\n2,x\n", "line 3:")]
    [InlineData("timestamp,a\n1,2\n2\n", "line 3:")]
    [InlineData("timestamp,a\nyesterday,2\n", "line 2:")]
    [InlineData("time,a\n1,2\n", "line 1:")]
    public void Given_malformed_csv_When_loaded_Then_the_error_names_the_line(string content, string line)
    {
        Should.Throw<UsageException>(() => SensorCsvLoader.Load(new StringReader(content), "x.csv", [])).Message.ShouldContain(line);
    }
}
