using System.Globalization;
using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Tests.Testing;

namespace EventMlOps.Training.Tests.Trainers;

[Collection(TorchCollection.Name)]
public class TrainerProgramTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var (output, errors) = (new StringWriter(), new StringWriter());
        var exit = TrainerProgram.Run(args, output, errors, _ => null);
        return (exit, output.ToString(), errors.ToString());
    }

    [Fact]
    public void Given_a_sensor_export_in_csv_When_the_anomaly_detector_trains_on_it_Then_it_succeeds_with_its_features()
    {
        var data = SensorGenerator.Generate(new SensorGeneratorOptions(Machines: 2, Days: 2, NormalFraction: 0.8, Seed: 1));
        var csv = new StringWriter();
        csv.WriteLine("timestamp,machine,pressure,temperature,label");
        foreach (var m in data.Machines)
            for (var t = 0; t < m.Length; t++)
                csv.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{DateTimeOffset.FromUnixTimeMilliseconds(m.Timestamps[t]):O},{m.Machine},{m.Values[t * 3 + 2]},{m.Values[t * 3]},{m.Labels![t]}"));
        var path = Temp.File(csv.ToString(), "readings.csv");
        var output = Temp.Folder();

        var (exit, stdout, stderr) = Run("anomaly", "--data", path, "--out", output, "--epochs", "1", "--window", "12", "--hidden", "16,4");

        exit.ShouldBe(0, stderr);
        stdout.ShouldContain("readings of pressure, temperature, labelled");
        File.ReadAllText(Path.Combine(output, "params.json")).ShouldContain("\"features\": [");
    }

    [Fact]
    public void Given_a_cuda_request_without_cuda_When_a_trainer_starts_Then_it_is_a_usage_error()
    {
        if (TorchSharp.torch.cuda.is_available()) Assert.Skip("CUDA is available here");

        var (exit, _, stderr) = Run("recommender", "--generate", "--out", Temp.Folder(), "--device", "cuda");

        exit.ShouldBe(2);
        stderr.ShouldContain("CUDA is not available");
    }

    [Theory]
    [InlineData(new[] { "recommender", "--out", "x" }, "give --data <path> or --generate")]
    [InlineData(new[] { "recommender", "--generate" }, "--out <dir> is required")]
    [InlineData(new[] { "recommender", "--generate", "--data", "u.data", "--out", "x" }, "not both")]
    [InlineData(new[] { "forecaster", "--generate" }, "unknown trainer 'forecaster'")]
    [InlineData(new[] { "recommender", "--generate", "--out", "x", "--layers", "63,32" }, "must be even")]
    [InlineData(new[] { "anomaly", "--generate", "--out", "x", "--train-fraction", "0.8", "--validation-fraction", "0.3" }, "must leave a test part")]
    public void Given_bad_usage_When_run_Then_it_exits_2_saying_why(string[] args, string message)
    {
        var (exit, _, stderr) = Run(args);

        exit.ShouldBe(2);
        stderr.ShouldContain(message);
    }

    [Fact]
    public void Given_help_When_run_Then_it_lists_the_trainers_options()
    {
        var (exit, stdout, _) = Run("anomaly", "--help");

        exit.ShouldBe(0);
        stdout.ShouldContain("--target-fpr");
        stdout.ShouldContain("--param name=value");
    }
}
