using System.Globalization;
using System.Text.Json.Serialization;
using EventMlOps.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EventMlOps.Serving.Loading;

/// <summary>A tensor an ONNX graph takes or gives, as the Open Inference Protocol describes it (-1: any size).
/// <paramref name="Symbols"/>: the graph's name of each dimension ("" for none); inputs whose dimensions share a name
/// must agree on their size.</summary>
public sealed record TensorSpec(string Name, string Datatype, long[] Shape, [property: JsonIgnore] string[] Symbols);

/// <summary>One loaded, verified and warmed model version. The routing table holds one reference; every request
/// holds another while it runs (<see cref="TryAcquire"/> / <see cref="Release"/>), so a version taken out of the
/// table is disposed only after its last request finished.</summary>
public abstract class ServedModel(string name, int version, string sha256, InferenceSession session, InjectedFaults faults)
{
    private int _references = 1;

    public string Name { get; } = name;
    public int Version { get; } = version;
    public string Sha256 { get; } = sha256;
    public string Label => $"{Name}@{Version}";

    /// <summary><see cref="Version"/> as text, for metric labels (made once, not per request).</summary>
    public string VersionText { get; } = version.ToString(CultureInfo.InvariantCulture);

    /// <summary>The faults the artifact carries on purpose (<see cref="InjectedFaults"/>); null when none, so that a
    /// version without faults pays one null check per request.</summary>
    public InjectedFaults? Faults { get; } = faults.Any ? faults : null;

    /// <summary>The model as the artifact defines it: what <c>/v2/…/infer</c> runs.</summary>
    public InferenceSession Session { get; } = session;

    public IReadOnlyList<TensorSpec> Inputs { get; } = Specs(session.InputMetadata);
    public IReadOnlyList<TensorSpec> Outputs { get; } = Specs(session.OutputMetadata);

    protected RunOptions RunOptions { get; } = new();

    /// <summary>Requests waiting for this version's batcher.</summary>
    public abstract int QueueDepth { get; }

    /// <summary>A reference for one request; false once the version has been released by the table and drained.</summary>
    public bool TryAcquire()
    {
        for (var seen = Volatile.Read(ref _references); seen > 0; seen = Volatile.Read(ref _references))
            if (Interlocked.CompareExchange(ref _references, seen + 1, seen) == seen)
                return true;
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
            _ = Task.Run(UnloadAsync);
    }

    /// <summary>Runs one inference before the version takes traffic, so its first request does not pay for
    /// ONNX Runtime's lazy initialisation.</summary>
    public abstract void Warm();

    /// <summary>Why <paramref name="values"/> of <paramref name="input"/> lie outside what this version can take (an index
    /// past its tables), or null. Checked before the model runs, so that ONNX Runtime never sees them and the caller gets
    /// a 400.</summary>
    public virtual string? Refuse(string input, ReadOnlySpan<long> values) => null;

    /// <inheritdoc cref="Refuse(string, ReadOnlySpan{long})"/>
    public virtual string? Refuse(string input, ReadOnlySpan<float> values) => null;

    /// <summary>Runs the artifact's own graph (ONNX Runtime sessions are safe to run concurrently).</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(IReadOnlyCollection<string> inputs, IReadOnlyCollection<OrtValue> values, IReadOnlyCollection<string> outputs) =>
        Session.Run(RunOptions, inputs, values, outputs);

    protected virtual ValueTask UnloadAsync()
    {
        Session.Dispose();
        RunOptions.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The Open Inference Protocol's name of an element type; only the types served here.</summary>
    public static string Datatype(TensorElementType type) => type switch
    {
        TensorElementType.Float => "FP32",
        TensorElementType.Int64 => "INT64",
        _ => throw new NotSupportedException($"tensors of {type} are not served"),
    };

    private static List<TensorSpec> Specs(IReadOnlyDictionary<string, NodeMetadata> nodes) =>
        nodes.Select(n => new TensorSpec(n.Key, Datatype(n.Value.ElementDataType), n.Value.Dimensions.Select(d => (long)d).ToArray(),
            n.Value.SymbolicDimensions)).ToList();
}
