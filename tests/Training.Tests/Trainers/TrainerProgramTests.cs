using System.Globalization;
using System.Text.Json;
using EventMlOps.Models;
using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Tests.Testing;
using Onnx;

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

    /// <summary>Generated readings as a sensor export (pressure and temperature), each reading's label from
    /// <paramref name="label"/> (default: the generator's).</summary>
    private static string Csv(SensorData data, Func<MachineSeries, int, string?>? label = null)
    {
        var csv = new StringWriter();
        csv.WriteLine("timestamp,machine,pressure,temperature,label");
        foreach (var m in data.Machines)
            for (var t = 0; t < m.Length; t++)
                csv.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{DateTimeOffset.FromUnixTimeMilliseconds(m.Timestamps[t]):O},{m.Machine},{m.Values[t * 3 + 2]},{m.Values[t * 3]},{(label ?? ((s, i) => s.Labels![i]))(m, t)}"));
        return csv.ToString();
    }

    private static Dictionary<string, string> Metadata(string output) =>
        ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(output, "model.onnx"))).MetadataProps.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void Given_a_sensor_export_in_csv_When_the_anomaly_detector_trains_on_it_Then_it_succeeds_with_its_features()
    {
        var data = SensorGenerator.Generate(new SensorGeneratorOptions(Machines: 2, Days: 2, NormalFraction: 0.8, Seed: 1));
        var path = Temp.File(Csv(data), "readings.csv");
        var output = Temp.Folder();

        var (exit, stdout, stderr) = Run("anomaly", "--data", path, "--out", output, "--epochs", "1", "--window", "12", "--hidden", "16,4");

        exit.ShouldBe(0, stderr);
        stdout.ShouldContain("readings of 2 features, labelled");
        stdout.ShouldContain("event time: one reading every 60,000 ms (the median step); 0 duplicate(s) (the later reading kept), 0 missing reading(s) filled with the last one (gaps up to 0 reading(s)), 0 gap(s) that no window spans");
        using var parameters = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "params.json")));
        parameters.RootElement.GetProperty("features").EnumerateArray().Select(f => f.GetString()).ShouldBe(["pressure", "temperature"]);
        Metadata(output).Keys.ShouldNotContain(k => k.StartsWith("emo.fault."), "no fault asked for, none written");
    }

    [Theory]
    [InlineData("--train-until", "2026-01-01T00:00:00Z", "--train-until and --validate-until go together")]
    [InlineData("--train-until", "yesterday", "--train-until must be a time (ISO 8601, e.g. 2026-01-31T00:00:00Z), not 'yesterday'")]
    public void Given_a_bad_moment_When_the_detector_is_asked_to_split_by_it_Then_it_exits_2_saying_why(string option, string value, string reason)
    {
        var (exit, _, stderr) = Run("anomaly", "--generate", "--machines", "1", "--days", "1", "--out", Temp.Folder(), option, value);

        exit.ShouldBe(2);
        stderr.ShouldContain(reason);
    }

    [Fact]
    public void Given_moments_and_shares_both_or_moments_out_of_order_When_the_detector_is_asked_Then_it_exits_2_saying_why()
    {
        string[] moments = ["--train-until", "2026-01-02T00:00:00Z", "--validate-until", "2026-01-03T00:00:00Z"];

        var both = Run(["anomaly", "--generate", "--out", Temp.Folder(), .. moments, "--train-fraction", "0.5"]);
        var reversed = Run(["anomaly", "--generate", "--out", Temp.Folder(), "--train-until", "2026-01-03T00:00:00Z", "--validate-until", "2026-01-02T00:00:00Z"]);

        (both.Item1, reversed.Item1).ShouldBe((2, 2));
        both.Item3.ShouldContain("split by shares (--train-fraction, --validation-fraction) or by moments (--train-until, --validate-until), not both");
        reversed.Item3.ShouldContain("--validate-until must be after --train-until");
    }

    [Fact]
    public void Given_two_moments_When_the_detector_trains_on_a_csv_Then_it_splits_there_and_records_them()
    {
        var data = SensorGenerator.Generate(new SensorGeneratorOptions(Machines: 1, Days: 2, NormalFraction: 0.8, Seed: 2));
        var m = data.Machines[0];
        var csv = Csv(data);
        var (trainUntil, validateUntil) = (DateTimeOffset.FromUnixTimeMilliseconds(m.Timestamps[1199]), DateTimeOffset.FromUnixTimeMilliseconds(m.Timestamps[1799]));
        var output = Temp.Folder();

        var (exit, stdout, stderr) = Run("anomaly", "--data", Temp.File(csv, "readings.csv"), "--out", output, "--epochs", "1", "--window", "12",
            "--hidden", "16,4", "--train-until", trainUntil.ToString("O", CultureInfo.InvariantCulture), "--validate-until", validateUntil.ToString("O", CultureInfo.InvariantCulture));

        exit.ShouldBe(0, stderr);
        // 1,200 training readings (windows of 12, stride 1: 1,189) and 600 validation readings (589 windows).
        stdout.ShouldContain("windows of 12 × 2: 1189 training, 589 validation,");
        using var parameters = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "params.json")));
        (parameters.RootElement.GetProperty("train_until").GetString(), parameters.RootElement.GetProperty("validate_until").GetString())
            .ShouldBe((trainUntil.ToString("O", CultureInfo.InvariantCulture), validateUntil.ToString("O", CultureInfo.InvariantCulture)));
        parameters.RootElement.TryGetProperty("train_fraction", out _).ShouldBeFalse("the shares were not used");
    }

    [Theory]
    [InlineData(false, "the windows holding them are left out of training and threshold calibration (--keep-labelled keeps them)")]
    [InlineData(true, "they are trained on and used to choose the threshold (--keep-labelled)")]
    public void Given_labelled_anomalies_in_the_parts_assumed_normal_When_the_detector_trains_Then_it_warns_with_their_counts_and_records_the_choice(
        bool keep, string fate)
    {
        // Generated anomalies come after the normal share (0.5 of the timeline), so with a 0.6/0.2 split some fall into the
        // training and validation parts; readings 100–109 of each machine are labelled too.
        var data = SensorGenerator.Generate(new SensorGeneratorOptions(Machines: 2, Days: 2, NormalFraction: 0.5, Seed: 1));
        var csv = Csv(data, (m, t) => t is >= 100 and < 110 ? "spike" : m.Labels![t]);
        var split = new TimelineSplit(0.6, 0.2);
        var loaded = SensorCsvLoader.Load(Temp.File(csv, "labelled.csv"), []);
        var (inTraining, inValidation) = (TimelineSplit.Labelled(loaded, split.Train), TimelineSplit.Labelled(loaded, split.Validation));
        var output = Temp.Folder();

        var (exit, stdout, stderr) = Run(["anomaly", "--data", Temp.File(csv, "readings.csv"), "--out", output, "--epochs", "1", "--window", "12",
            "--hidden", "16,4", .. keep ? (string[])["--keep-labelled"] : []]);

        exit.ShouldBe(0, stderr);
        inTraining.ShouldBeGreaterThanOrEqualTo(20);
        inValidation.ShouldBeGreaterThan(0);
        stdout.ShouldContain($"warning: {inTraining:N0} labelled reading(s) fell into the training part and {inValidation:N0} into the validation part; {fate}");
        using var parameters = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "params.json")));
        parameters.RootElement.GetProperty("keep_labelled").GetBoolean().ShouldBe(keep);
    }

    [Theory]
    [InlineData("recommender", "--users", "200", "--items", "150", "--interactions", "6000", "--factors", "4", "--layers", "8,4")]
    [InlineData("anomaly", "--machines", "1", "--days", "1", "--hidden", "8,2")]
    public void Given_fault_hyperparameters_When_a_trainer_runs_Then_the_model_carries_them_in_its_metadata_and_they_are_logged_as_params(string trainer, params string[] sizes)
    {
        var output = Temp.Folder();

        var (exit, stdout, stderr) = Run([trainer, "--generate", .. sizes, "--epochs", "1", "--out", output, "--param", "fault_latency_ms=300", "--fault_error_rate", "0.5"]);

        exit.ShouldBe(0, stderr);
        stdout.ShouldContain("injected faults for rehearsing rollbacks: latency 300 ms, error rate 0.5");
        var metadata = Metadata(output);
        (metadata[ModelMetadata.FaultLatencyMs], metadata[ModelMetadata.FaultErrorRate]).ShouldBe(("300", "0.5"));
        InjectedFaults.Read(metadata).ShouldBe(new InjectedFaults(300, 0.5));
        metadata[ModelMetadata.ModelKind].ShouldBe(trainer);
        using var parameters = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "params.json")));
        (parameters.RootElement.GetProperty("fault_latency_ms").GetInt32(), parameters.RootElement.GetProperty("fault_error_rate").GetDouble()).ShouldBe((300, 0.5));
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
    [InlineData(new[] { "recommender", "--generate", "--out", "x", "--param", "fault_error_rate=1.5" }, "--fault-error-rate must be a number in [0, 1], not '1.5'")]
    [InlineData(new[] { "anomaly", "--generate", "--out", "x", "--fault-latency-ms", "-5" }, "--fault-latency-ms must be a whole number in [0, 600000], not '-5'")]
    [InlineData(new[] { "anomaly", "--generate", "--out", "x", "--fault-latency-ms", "2.5" }, "--fault-latency-ms must be a whole number")]
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
