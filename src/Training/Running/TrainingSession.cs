using System.Diagnostics;
using System.Globalization;
using EventMlOps.Contracts.Training;
using EventMlOps.Models;
using EventMlOps.Training.Tracking;
using Onnx;
using TorchSharp;

namespace EventMlOps.Training.Running;

/// <summary>What every trainer shares: the output folder, the seed, the device, progress on stdout (a line for
/// people and an <c>EMO_EPOCH</c> line for machines per epoch, <c>EMO_RESULT</c> at the end), the JSON files and
/// the optional MLflow-shaped tracking.</summary>
public sealed class TrainingSession : IDisposable
{
    /// <summary>The options every trainer takes, with that trainer's defaults in the help.</summary>
    public static IReadOnlyList<OptionSpec> CommonOptions(string trainer, int epochs, double lr, int batchSize) =>
    [
        new(TrainerProtocol.Data, "training data: a file, or with --data-sha256 a dataset URI (file:// or s3://) fetched from the artifact store"),
        new(TrainerProtocol.DataSha256, "the dataset's sha256: the data is fetched through the artifact store and used only if its content matches"),
        new("generate", "generate synthetic data instead of reading --data", IsFlag: true),
        new(TrainerProtocol.Out, "output folder (model.onnx, baseline.json, metrics.json, params.json)"),
        new(TrainerProtocol.Publish, "put the outputs into the artifact store and print an EMO_OUTPUT line for each (the store's settings come from the environment: Artifacts__Root or Artifacts__S3__Bucket, Datasets__Roots)", IsFlag: true),
        OptionSpec.Hyperparameter(trainer, "epochs", $"training epochs (default {epochs})"),
        OptionSpec.Hyperparameter(trainer, "seed", "random seed (data generation, sampling, initialisation); default 42"),
        new("device", "auto (CUDA when available, else CPU) | cpu | cuda; default auto"),
        OptionSpec.Hyperparameter(trainer, "lr", $"Adam learning rate (default {lr.ToString(CultureInfo.InvariantCulture)})"),
        OptionSpec.Hyperparameter(trainer, "batch-size", $"minibatch size (default {batchSize})"),
        OptionSpec.Hyperparameter(trainer, "threads", "CPU threads for libtorch (default 1: these small models train fastest single-threaded, most of all on a busy machine)"),
        OptionSpec.Hyperparameter(trainer, "fault-latency-ms", $"for rehearsing rollbacks: milliseconds emo-serve adds to each request this model serves, 0 to {InjectedFaults.MaxLatencyMs} (default 0; written to the model's metadata, training is unchanged)"),
        OptionSpec.Hyperparameter(trainer, "fault-error-rate", "for rehearsing rollbacks: probability 0..1 that emo-serve fails a request this model serves with a 500 (default 0; written to the model's metadata)"),
    ];

    /// <summary>The common options, read and checked before anything is created.</summary>
    /// <param name="DataSha256">Set when <paramref name="DataPath"/> is a dataset URI still to be fetched (<see cref="JobStore"/>).</param>
    public sealed record Settings(string? DataPath, string OutputFolder, int Seed, InjectedFaults Faults, string Device, int Threads,
        string? DataSha256 = null, bool Publish = false);

    public static Settings Read(CommandLine options)
    {
        var data = options.String(TrainerProtocol.Data);
        var sha256 = options.String(TrainerProtocol.DataSha256);
        var generate = options.Flag("generate");
        if (data is null == !generate)
            throw new UsageException(generate ? "give either --data or --generate, not both" : "give --data <path> or --generate");
        if (sha256 is not null && data is null) throw new UsageException("--data-sha256 goes with --data <uri>");
        if (data is not null && sha256 is null && !File.Exists(data)) throw new UsageException($"--data {data}: no such file");
        return new Settings(data, options.String(TrainerProtocol.Out) ?? throw new UsageException("--out <dir> is required"), options.Int("seed", 42),
            new InjectedFaults(options.Int("fault-latency-ms", 0), options.Double("fault-error-rate", 0)), options.String(TrainerProtocol.Device) ?? "auto",
            options.Int("threads", 1), sha256, options.Flag(TrainerProtocol.Publish));
    }

    private readonly MlflowTracking? _tracking;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private TrainingSession(string trainer, string outputFolder, int seed, torch.Device device, string? dataPath, InjectedFaults faults,
        TextWriter output, TextWriter errors, MlflowTracking? tracking)
    {
        Trainer = trainer;
        OutputFolder = outputFolder;
        Seed = seed;
        Device = device;
        DataPath = dataPath;
        Faults = faults;
        Out = output;
        Error = errors;
        _tracking = tracking;
    }

    public string Trainer { get; }
    public string OutputFolder { get; }
    public int Seed { get; }
    public torch.Device Device { get; }

    /// <summary>The data file; null when the trainer generates its data.</summary>
    public string? DataPath { get; }

    /// <summary>Faults the exported model carries on purpose, for rehearsing rollbacks; they change nothing in
    /// training, only the model's metadata.</summary>
    public InjectedFaults Faults { get; }

    public TextWriter Out { get; }
    public TextWriter Error { get; }
    public TimeSpan Elapsed => _clock.Elapsed;

    public static TrainingSession Open(string trainer, Settings settings, TextWriter output, TextWriter errors, Func<string, string?> environment)
    {
        var device = SelectDevice(settings.Device);
        Directory.CreateDirectory(settings.OutputFolder);

        torch.set_num_threads(settings.Threads);
        torch.manual_seed(settings.Seed);
        if (device.type == DeviceType.CUDA) torch.cuda.manual_seed_all(settings.Seed);
        output.WriteLine($"emo-train {trainer}: device {Describe(device)}, {torch.get_num_threads()} CPU threads, seed {settings.Seed}, output {Path.GetFullPath(settings.OutputFolder)}");
        if (settings.Faults.Any)
            output.WriteLine($"injected faults for rehearsing rollbacks: {settings.Faults.Describe()} (written to the model's metadata; training is unchanged)");
        return new TrainingSession(trainer, settings.OutputFolder, settings.Seed, device, settings.DataPath, settings.Faults, output, errors,
            MlflowTracking.FromEnvironment(environment, errors));
    }

    public static torch.Device SelectDevice(string choice) => choice.ToLowerInvariant() switch
    {
        "auto" => torch.cuda.is_available() ? torch.CUDA : torch.CPU,
        "cpu" => torch.CPU,
        "cuda" or "gpu" => torch.cuda.is_available()
            ? torch.CUDA
            : throw new UsageException("--device cuda: CUDA is not available here (no visible GPU, or a CPU-only libtorch)"),
        _ => throw new UsageException($"--device must be auto, cpu or cuda, not '{choice}'"),
    };

    private static string Describe(torch.Device device)
        => device.type == DeviceType.CUDA ? $"cuda ({torch.cuda.device_count()} GPU(s))" : torch.cuda.is_available() ? "cpu (CUDA available but not chosen)" : "cpu (CUDA not available)";

    public string PathOf(string file) => Path.Combine(OutputFolder, file);

    private string DeviceName => Device.type == DeviceType.CUDA ? "cuda" : "cpu";

    /// <summary>Writes params.json — the session's and the optimiser's parameters, then the trainer's own, then the
    /// injected faults (0: none) — and logs them (and tags) to tracking.</summary>
    public void Begin(int epochs, double learningRate, int batchSize, Parameters trainerParameters)
    {
        var parameters = new Parameters
        {
            ["trainer"] = Trainer,
            ["data"] = DataPath is null ? "generated" : Path.GetFullPath(DataPath),
            ["seed"] = Seed,
            ["device"] = DeviceName,
            ["epochs"] = epochs,
            ["lr"] = learningRate,
            ["batch_size"] = batchSize,
        };
        foreach (var (name, value) in trainerParameters) parameters[name] = value;
        parameters["fault_latency_ms"] = Faults.LatencyMs;
        parameters["fault_error_rate"] = Faults.ErrorRate;
        JsonOut.WriteFile(PathOf(TrainerProtocol.FileOf(TrainerProtocol.Params)), w => JsonOut.WriteParameters(w, parameters));
        _tracking?.LogStart(parameters.AsStrings(),
        [
            new("mlflow.source.name", "emo-train"),
            new("emo.trainer", Trainer),
            new("emo.device", DeviceName),
        ]);
    }

    public void Epoch(int epoch, int epochs, double seconds, Metrics metrics)
    {
        var human = string.Join("  ", metrics.Select(m => $"{m.Key} {Format(m.Value)}"));
        Out.WriteLine($"epoch {epoch}/{epochs}  {human}  ({seconds.ToString("0.0", CultureInfo.InvariantCulture)} s)");
        Out.WriteLine(TrainerProtocol.EpochPrefix + JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("epoch", epoch);
            w.WriteNumber("epochs", epochs);
            w.WriteNumber("seconds", Math.Round(seconds, 3));
            w.WritePropertyName("metrics");
            JsonOut.WriteMetrics(w, metrics);
            w.WriteEndObject();
        }));
        Out.Flush();
        _tracking?.LogMetrics(metrics, epoch, DateTimeOffset.UtcNow);
    }

    /// <summary>Writes metrics.json, logs the final metrics and prints <c>EMO_RESULT</c>; call only after the model
    /// was verified.</summary>
    public void Finish(Metrics metrics, int step)
    {
        JsonOut.WriteFile(PathOf(TrainerProtocol.FileOf(TrainerProtocol.Metrics)), w => JsonOut.WriteMetrics(w, metrics));
        _tracking?.LogMetrics(metrics, step, DateTimeOffset.UtcNow);
        Out.WriteLine("result: " + string.Join("  ", metrics.Select(m => $"{m.Key} {Format(m.Value)}")));
        Out.WriteLine(TrainerProtocol.ResultPrefix + JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("metrics");
            JsonOut.WriteMetrics(w, metrics);
            w.WriteEndObject();
        }));
        Out.Flush();
    }

    /// <summary>Writes model.onnx, with the session's injected faults added to its metadata, and checks it in ONNX
    /// Runtime against the TorchSharp forward pass (<paramref name="verify"/>, given the file) before anything reports
    /// success; the export time and the differences go into <paramref name="metrics"/>.</summary>
    /// <exception cref="VerificationException">The outputs differ beyond <see cref="OnnxCheck.Tolerance"/>.</exception>
    public void ExportVerified(Func<ModelProto> build, Func<string, OnnxCheck.Difference> verify, Metrics metrics)
    {
        var clock = Stopwatch.StartNew();
        var modelPath = PathOf(TrainerProtocol.FileOf(TrainerProtocol.Model));
        var model = build();
        foreach (var (key, value) in Faults.Metadata()) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        OnnxGraph.Save(model, modelPath);
        metrics["onnx_export_seconds"] = clock.Elapsed.TotalSeconds;
        var diff = verify(modelPath);
        metrics["onnx_max_abs_diff"] = diff.Absolute;
        metrics["onnx_max_scaled_diff"] = diff.Scaled;
        var inv = CultureInfo.InvariantCulture;
        Info($"onnx: {modelPath} ({new FileInfo(modelPath).Length / 1024.0:0} KiB, {clock.Elapsed.TotalSeconds:0.00} s), "
             + $"ONNX Runtime vs TorchSharp max abs diff {diff.Absolute.ToString("E2", inv)} (scaled by max(1, |value|): {diff.Scaled.ToString("E2", inv)})");
        if (!diff.Passes)
            throw new VerificationException($"the ONNX model's outputs differ from TorchSharp's by up to {diff.Absolute:E2} " +
                                            $"(scaled by max(1, |value|): {diff.Scaled:E2}; tolerance {OnnxCheck.Tolerance:E0})");
    }

    public void Info(string line)
    {
        Out.WriteLine(line);
        Out.Flush();
    }

    public static string Format(double value)
        => value == Math.Floor(value) && Math.Abs(value) < 1e9 ? value.ToString("0", CultureInfo.InvariantCulture)
            : Math.Abs(value) < 1e-3 ? value.ToString("0.00E+0", CultureInfo.InvariantCulture)
            : value.ToString(Math.Abs(value) >= 100 ? "0.0" : "0.0000", CultureInfo.InvariantCulture);

    public void Dispose() => _tracking?.Dispose();
}
