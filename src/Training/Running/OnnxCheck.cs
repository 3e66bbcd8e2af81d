using Microsoft.ML.OnnxRuntime;

namespace EventMlOps.Training.Running;

/// <summary>Runs an exported model in ONNX Runtime and compares its outputs with the TorchSharp forward pass.</summary>
public static class OnnxCheck
{
    public const double Tolerance = 1e-4;

    public sealed record Input(string Name, Array Data, long[] Shape);

    /// <summary>How far ONNX Runtime's outputs are from TorchSharp's: the largest absolute difference, and the largest
    /// difference scaled by <c>max(1, |expected|)</c> — the same for outputs within [-1, 1] (probabilities), relative
    /// for large ones (an anomaly score of 10⁴ carries float32 rounding of ~10⁻³). NaN anywhere counts as infinite.
    /// Verification passes when <see cref="Scaled"/> ≤ <see cref="Tolerance"/>.</summary>
    public sealed record Difference(double Absolute, double Scaled)
    {
        public bool Passes => Scaled <= Tolerance;
    }

    public static Difference Compare(string modelPath, IReadOnlyList<Input> inputs, IReadOnlyDictionary<string, float[]> expected)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(modelPath, options);
        var values = new Dictionary<string, OrtValue>();
        try
        {
            foreach (var input in inputs)
                values[input.Name] = input.Data switch
                {
                    long[] longs => OrtValue.CreateTensorValueFromMemory(longs, input.Shape),
                    float[] floats => OrtValue.CreateTensorValueFromMemory(floats, input.Shape),
                    _ => throw new ArgumentException($"unsupported input type {input.Data.GetType().Name}"),
                };
            var names = expected.Keys.ToArray();
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, values, names);
            double max = 0, scaled = 0;
            var i = 0;
            foreach (var output in outputs)
            {
                var actual = output.GetTensorDataAsSpan<float>();
                var wanted = expected[names[i++]];
                if (actual.Length != wanted.Length)
                    throw new InvalidOperationException($"output '{names[i - 1]}' has {actual.Length} values in ONNX Runtime, {wanted.Length} in TorchSharp");
                for (var j = 0; j < wanted.Length; j++)
                {
                    var d = Math.Abs((double)actual[j] - wanted[j]);
                    if (double.IsNaN(d)) d = double.PositiveInfinity;
                    max = Math.Max(max, d);
                    scaled = Math.Max(scaled, d / Math.Max(1, Math.Abs((double)wanted[j])));
                }
            }
            return new Difference(max, scaled);
        }
        finally
        {
            foreach (var v in values.Values) v.Dispose();
        }
    }

    /// <summary>The model's metadata_props as ONNX Runtime reads them.</summary>
    public static IReadOnlyDictionary<string, string> Metadata(string modelPath)
    {
        using var session = new InferenceSession(modelPath);
        return new Dictionary<string, string>(session.ModelMetadata.CustomMetadataMap);
    }
}

/// <summary>The exported model does not reproduce the trained one: exit code 1.</summary>
public sealed class VerificationException(string message) : Exception(message);
