using System.Globalization;
using System.Text.Json;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Models;
using Keys = EventMlOps.Models.ModelMetadata;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Loading;
using Microsoft.ML.OnnxRuntime;

namespace EventMlOps.Serving.Scoring;

/// <summary>A sensor autoencoder version: windows of raw readings (time-major, <see cref="Steps"/> × features) →
/// the standardised reconstruction error, an anomaly above <see cref="Threshold"/>. Windows of concurrent requests
/// run as one batch. Readings far outside the training data (<see cref="MaxDeviations"/>) are refused before the
/// model sees them.</summary>
public sealed class AnomalyModel : ServedModel
{
    /// <summary>A reading further than this many standard deviations from its feature's training mean is no sensor's: it is
    /// refused, well before the autoencoder's float arithmetic would overflow on it (3e38, squared).</summary>
    public const double MaxDeviations = 1e6;

    private readonly Batcher<float[], float[]> _batcher;
    private readonly string _input;
    private readonly float[] _mean, _std;

    private AnomalyModel(ServedVersion version, InferenceSession session, InjectedFaults faults, string[] features, (int Steps, int Stride, long? Interval, int Fill) windows,
        double threshold, (float[] Mean, float[] Std) normalisation, BatchPolicy batching)
        : base(version.ModelName, version.Version, version.ArtifactSha256, session, faults)
    {
        (Features, (Steps, Stride, SamplingIntervalMs, FillSlots), Threshold, (_mean, _std)) = (features, windows, threshold, normalisation);
        if (_mean.Length != features.Length || _std.Length != features.Length || !_std.All(s => s > 0 && float.IsFinite(s)))
            throw new InvalidDataException($"the anomaly model's normalisation should hold a mean and a positive std for each of its {features.Length} features");
        if (FillSlots < 0 || FillSlots >= Steps)
            throw new InvalidDataException($"the anomaly model's gap_fill should be fewer readings than its window of {Steps}");
        if (Inputs is not [{ Shape: [_, var width] } input] || width != Width)
            throw new InvalidDataException($"the anomaly model should take one input [N, {Width}] ({Steps} steps × {features.Length} features)");
        _input = input.Name;
        _batcher = batching.For<float[], float[]>(Name, Version, Score);
    }

    public string[] Features { get; }
    public int Steps { get; }

    /// <summary>Readings between the starts of two windows, as trained (the stream scorer cuts its windows so).</summary>
    public int Stride { get; }

    /// <summary>The training data's step between readings in milliseconds; null when the trainer could not tell (no streams then).</summary>
    public long? SamplingIntervalMs { get; }

    /// <summary>Readings a gap may be filled over with the last one, as in training (<see cref="EventTime.Carries"/>).</summary>
    public int FillSlots { get; }
    public int Width => Steps * Features.Length;
    public double Threshold { get; }
    public override int QueueDepth => _batcher.Depth;

    public static AnomalyModel Load(ServedVersion version, InferenceSession session, IReadOnlyDictionary<string, string> metadata, BatchPolicy batching)
    {
        string Required(string key) => metadata.GetValueOrDefault(key) ?? throw new InvalidDataException($"the anomaly model has no '{key}' metadata");
        var inv = CultureInfo.InvariantCulture;
        using var normalisation = JsonDocument.Parse(Required(Keys.Normalisation));
        float[] PerFeature(string name) => [.. normalisation.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetSingle())];
        var windows = (int.Parse(Required(Keys.Window), inv), metadata.GetValueOrDefault(Keys.Stride) is { Length: > 0 } stride ? int.Parse(stride, inv) : 1,
            long.TryParse(metadata.GetValueOrDefault(Keys.SamplingInterval), NumberStyles.None, inv, out var interval) && interval > 0 ? interval : (long?)null,
            Keys.GapFillOf(metadata));
        return new AnomalyModel(version, session, InjectedFaults.Read(metadata), Required(Keys.Features).Split(','), windows,
            double.Parse(Required(Keys.Threshold), inv), (PerFeature("mean"), PerFeature("std")), batching);
    }

    /// <summary>Where <paramref name="windows"/> (laid end to end) hold a reading beyond <see cref="MaxDeviations"/>, or null.</summary>
    public string? Outlier(ReadOnlySpan<float> windows)
    {
        for (var i = 0; i < windows.Length; i++)
        {
            var f = i % Features.Length;
            if (!(Math.Abs((double)windows[i] - _mean[f]) <= MaxDeviations * _std[f]))
                return string.Create(CultureInfo.InvariantCulture,
                    $"window {i / Width}, step {i % Width / Features.Length}, {Features[f]}: a reading more than {MaxDeviations:N0} standard deviations from the training mean");
        }
        return null;
    }

    public override string? Refuse(string input, ReadOnlySpan<float> values) => Outlier(values) is { } outlier ? $"input '{input}': {outlier}" : null;

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
