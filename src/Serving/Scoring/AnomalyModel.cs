using System.Globalization;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Models;
using Keys = EventMlOps.Models.ModelMetadata;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Loading;
using Microsoft.ML.OnnxRuntime;

namespace EventMlOps.Serving.Scoring;

/// <summary>A sensor autoencoder version: windows of raw readings (time-major, <see cref="Steps"/> × features) →
/// the standardised reconstruction error, an anomaly above <see cref="Threshold"/>. Windows of concurrent requests
/// run as one batch.</summary>
public sealed class AnomalyModel : ServedModel
{
    private readonly Batcher<float[], float[]> _batcher;
    private readonly string _input;

    private AnomalyModel(ServedVersion version, InferenceSession session, InjectedFaults faults, string[] features, int steps, double threshold, BatchPolicy batching)
        : base(version.ModelName, version.Version, version.ArtifactSha256, session, faults)
    {
        (Features, Steps, Threshold) = (features, steps, threshold);
        if (Inputs is not [{ Shape: [_, var width] } input] || width != Width)
            throw new InvalidDataException($"the anomaly model should take one input [N, {Width}] ({steps} steps × {features.Length} features)");
        _input = input.Name;
        _batcher = batching.For<float[], float[]>(Name, Version, Score);
    }

    public string[] Features { get; }
    public int Steps { get; }
    public int Width => Steps * Features.Length;
    public double Threshold { get; }
    public override int QueueDepth => _batcher.Depth;

    public static AnomalyModel Load(ServedVersion version, InferenceSession session, IReadOnlyDictionary<string, string> metadata, BatchPolicy batching)
    {
        string Required(string key) => metadata.GetValueOrDefault(key) ?? throw new InvalidDataException($"the anomaly model has no '{key}' metadata");
        var inv = CultureInfo.InvariantCulture;
        return new AnomalyModel(version, session, InjectedFaults.Read(metadata), Required(Keys.Features).Split(','), int.Parse(Required(Keys.Window), inv),
            double.Parse(Required(Keys.Threshold), inv), batching);
    }

    /// <summary>The error of each of <paramref name="count"/> windows laid end to end in <paramref name="windows"/>.</summary>
    public Task<float[]> ScoreAsync(float[] windows, int count) => _batcher.Submit(windows, count);

    public override void Warm() => Score([new float[Width]], 1);

    private float[][] Score(IReadOnlyList<float[]> batch, int rows)
    {
        var flat = new float[rows * Width];
        var at = 0;
        foreach (var windows in batch)
        {
            windows.CopyTo(flat, at);
            at += windows.Length;
        }
        using var input = OrtValue.CreateTensorValueFromMemory(flat, [rows, Width]);
        using var outputs = Run([_input], [input], ["error"]);
        var errors = outputs[0].GetTensorDataAsSpan<float>();
        var results = new float[batch.Count][];
        at = 0;
        for (var b = 0; b < batch.Count; b++)
        {
            results[b] = errors.Slice(at, batch[b].Length / Width).ToArray();
            at += results[b].Length;
        }
        return results;
    }

    protected override async ValueTask UnloadAsync()
    {
        await _batcher.DisposeAsync();
        await base.UnloadAsync();
    }
}
