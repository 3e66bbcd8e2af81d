namespace EventMlOps.Contracts.Training;

/// <summary>How a trainer talks to the agent that runs it — the one definition emo-train and the agents share. On
/// stdout (the job's log, read through the runtime): an <c>EMO_EPOCH {"epoch":1,"epochs":10,"seconds":2.1,"metrics":{…}}</c>
/// line per epoch, <c>EMO_RESULT {"metrics":{…}}</c> at the end and, with <see cref="Publish"/>, an
/// <c>EMO_OUTPUT {"name":"model","uri":"…","sha256":"…"}</c> line per output it put into the artifact store. The agent
/// trusts none of it blindly: each output is adopted only if its content has the claimed sha256.</summary>
public static class TrainerProtocol
{
    public const string EpochPrefix = "EMO_EPOCH ";
    public const string ResultPrefix = "EMO_RESULT ";
    public const string OutputPrefix = "EMO_OUTPUT ";

    /// <summary>Options the agent gives every trainer: the dataset's URI and its sha256 (the trainer fetches and verifies
    /// it), the output folder (relative to its working folder), the publishing flag and the device.</summary>
    public const string Data = "data", DataSha256 = "data-sha256", Out = "out", Publish = "publish", Device = "device";

    public const string Model = "model", Baseline = "baseline", Params = "params", Metrics = "metrics";

    /// <summary>The outputs a trainer writes into <see cref="Out"/> and publishes, by the name they are reported under;
    /// the model is required, the others optional.</summary>
    public static readonly IReadOnlyList<(string Name, string File)> Outputs =
        [(Model, "model.onnx"), (Baseline, "baseline.json"), (Params, "params.json"), (Metrics, "metrics.json")];

    /// <summary>The file an output is written to in <see cref="Out"/>.</summary>
    public static string FileOf(string output) => Outputs.Single(o => o.Name == output).File;

    /// <summary>Whether a metric is a wall-clock time (<c>train_seconds</c>, <c>seconds_per_epoch</c>): it differs from
    /// run to run whatever the seed, so it stays out of the model file (whose bytes are then a function of data, code and
    /// seed alone) and is shown but not judged when a run is reproduced.</summary>
    public static bool IsWallClock(string metric) => metric.Contains("seconds", StringComparison.Ordinal);
}

/// <summary>An <c>EMO_OUTPUT</c> line: an output the trainer put into the artifact store.</summary>
public sealed record PublishedOutput(string Name, string Uri, string Sha256);
