using EventMlOps.Serving.Hosting;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace EventMlOps.Serving.Loading;

/// <summary>ONNX Runtime sessions tuned for this host: full graph optimisation, the CPU memory arena, the configured
/// intra-op threads, and the CUDA execution provider when <c>Serving:Device</c> asks for it and the runtime has it.</summary>
public sealed class OrtSessions(ServingOptions options, ILogger<OrtSessions> log)
{
    private int _cudaMissingLogged;

    /// <summary><c>Serving:Device</c>, or where it is unset <c>auto</c> with a runtime built with the CUDA execution
    /// provider (the GPU flavour: CUDA first, the CPU as the logged fallback) and <c>cpu</c> with the CPU package.</summary>
    public string Device { get; } = options.Device is { Length: > 0 } device ? device
        : OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider") ? "auto" : "cpu";

    public InferenceSession Create(byte[] model)
    {
        using var o = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            EnableCpuMemArena = true,
            IntraOpNumThreads = options.IntraOpThreads > 0 ? options.IntraOpThreads : Environment.ProcessorCount,
        };
        // Several sessions share the cores with Kestrel: idle intra-op threads must sleep, not spin.
        o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (Device is "cuda" or "auto") TryCuda(o);
        return new InferenceSession(model, o);
    }

    private void TryCuda(SessionOptions o)
    {
        try
        {
            o.AppendExecutionProvider_CUDA();
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            if (Interlocked.Exchange(ref _cudaMissingLogged, 1) == 0)
                log.LogWarning("Serving:Device={Device} but the CUDA execution provider is unavailable ({Reason}): running on the CPU", Device, e.Message);
        }
    }
}
