using Serilog.Events;

namespace EventMlOps.Serving.Hosting;

/// <summary>The <c>Serving</c> configuration section (command-line flags map onto it: see <see cref="ServingApp"/>).</summary>
public sealed class ServingOptions
{
    /// <summary>A local desired-state file (standalone use), re-read when it changes.</summary>
    public string? Desired { get; set; }

    public TimeSpan DesiredPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The control plane's base URL; with <see cref="Endpoint"/> and <see cref="Token"/> it is the desired-state source.</summary>
    public string? ControlPlane { get; set; }

    public string? Endpoint { get; set; }

    /// <summary>An agent bearer token for the control plane (a secret: never logged).</summary>
    public string? Token { get; set; }

    /// <summary>Most rows (users, windows) run as one batch: one ONNX Runtime call for the autoencoder; for the
    /// recommender one call of its kernel, which ranks each user on its own with the users spread over the cores (1 to 16
    /// measured alike on 2 cores, 64 a little slower).</summary>
    public int MaxBatch { get; set; } = 16;

    /// <summary>How long the first request of a batch waits for company. 0 = take whatever queued while the previous
    /// batch ran, which adds no latency at low load and still batches under load.</summary>
    public double MaxDelayMs { get; set; }

    /// <summary>Requests waiting for one version's batcher; beyond it requests are answered 429 at once.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>Inference requests in flight in the process; beyond it requests are answered 429 at once.</summary>
    public int MaxConcurrency { get; set; } = 512;

    public long MaxBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The largest <c>k</c> /recommend accepts.</summary>
    public int MaxK { get; set; } = 100;

    /// <summary><c>cpu</c>, <c>cuda</c> or <c>auto</c>; cuda and auto fall back to the CPU (logged) where CUDA is missing.
    /// Unset: <c>auto</c> where the ONNX Runtime package has the CUDA execution provider (the GPU flavour), else <c>cpu</c>.</summary>
    public string? Device { get; set; }

    /// <summary>ONNX Runtime intra-op threads per session; 0 = one per core.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>The key the drift agent reads <c>GET /samples</c> with (a secret: never logged); none = the route is off and
    /// nothing is sampled.</summary>
    public string? SamplesKey { get; set; }

    /// <summary>Most requests (or scored windows) sampled per second for drift monitoring; 0 = none.</summary>
    public double SamplesPerSecond { get; set; } = 50;

    /// <summary>The samples kept for the drift agent to read: the oldest make room for new ones.</summary>
    public int SamplesBuffer { get; set; } = 4096;

    /// <summary>Scoring the endpoint's sensor readings from the bus (<c>--stream</c>).</summary>
    public Streams.StreamOptions Stream { get; set; } = new();

    public LogEventLevel LogLevel { get; set; } = LogEventLevel.Information;
}
