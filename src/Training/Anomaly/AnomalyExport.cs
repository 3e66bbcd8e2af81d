using System.Globalization;
using EventMlOps.Models;
using EventMlOps.Training.Running;
using Onnx;
using static EventMlOps.Models.OnnxGraph;
using Keys = EventMlOps.Models.ModelMetadata;
using DataType = Onnx.TensorProto.Types.DataType;

namespace EventMlOps.Training.Anomaly;

/// <summary>The anomaly detector as ONNX: input <c>window</c> float [N, window·features] in raw units (time-major);
/// the graph normalises it (centred on the training median or on the window's own mean, <see cref="Centring"/>; scaled
/// by the training scale), reconstructs it, and outputs <c>reconstruction</c>
/// (float [N, window·features], raw units) and <c>error</c> (float [N], the standardised reconstruction error: per
/// feature the mean over the window of (normalised residual / residual scale)², the largest of those; an alarm is
/// <c>error &gt; threshold</c> from the metadata).</summary>
public static class AnomalyExport
{
    public static ModelProto Build(Autoencoder model, int features, float[] meanTiled, float[] stdTiled, float[] residualScaleTiled,
        IEnumerable<KeyValuePair<string, string>> metadata, Centring centring = Centring.Training)
    {
        var width = meanTiled.Length;
        var g = new OnnxGraph("sensor_autoencoder");
        g.Input("window", DataType.Float, "N", width);
        var std = g.Initializer("normalisation.std", stdTiled, width);
        var stepsByFeatures = g.Initializer("error.steps_by_features", [0L, -1L, features], 3);
        var flat = centring == Centring.Window ? g.Initializer("normalisation.flat", [0L, -1L], 2) : null;
        // Centred on the training median, or (per window and feature) on the window's mean, broadcast over its steps.
        var byStep = centring == Centring.Window ? g.Node("Reshape", ["window", stepsByFeatures]) : null;
        var windowMean = byStep is null ? null : g.Node("ReduceMean", [byStep], "normalisation.window_mean", Ints("axes", 1), Int("keepdims", 1));
        var centred = windowMean is null
            ? g.Node("Sub", ["window", g.Initializer("normalisation.mean", meanTiled, width)])
            : g.Node("Reshape", [g.Node("Sub", [byStep!, windowMean]), flat!]);
        var x = g.Node("Div", [centred, std], "normalised");
        var h = x;
        var weights = model.Weights();
        for (var l = 0; l < weights.Length; l++)
        {
            h = g.Linear(h, $"layers.{l}", weights[l].Weight, weights[l].Bias, model.Sizes[l + 1], model.Sizes[l]);
            if (model.Activated(l)) h = g.Node("Relu", [h]);
        }
        var scaled = g.Node("Mul", [h, std]);
        if (windowMean is null) g.Node("Add", [scaled, "normalisation.mean"], "reconstruction");
        else g.Node("Reshape", [g.Node("Add", [g.Node("Reshape", [scaled, stepsByFeatures]), windowMean]), flat!], "reconstruction");
        var diff = g.Node("Div", [g.Node("Sub", [h, x]), g.Initializer("error.residual_scale", residualScaleTiled, width)]);
        var perStep = g.Node("Reshape", [g.Node("Mul", [diff, diff]), stepsByFeatures]);
        var perFeature = g.Node("ReduceMean", [perStep], null, Ints("axes", 1), Int("keepdims", 0));
        g.Node("ReduceMax", [perFeature], "error", Ints("axes", 1), Int("keepdims", 0));
        g.Output("reconstruction", DataType.Float, "N", width);
        g.Output("error", DataType.Float, "N");
        return g.Build(metadata, "Sensor-window autoencoder trained by emo-train: error(window) > threshold is an anomaly");
    }

    public static List<KeyValuePair<string, string>> Metadata(string[] features, int window, int stride, float[] mean, float[] std,
        float[] residualScale, double threshold, double targetFpr, int[] sizes, long? samplingInterval, Metrics evaluation, Centring centring = Centring.Training,
        int gapFill = 0)
    {
        var inv = CultureInfo.InvariantCulture;
        var width = window * features.Length;
        return
        [
            new(Keys.ModelKind, Keys.Anomaly),
            new(Keys.Architecture, $"autoencoder layers={string.Join(",", sizes)}"),
            new(Keys.FeatureSchema, JsonOut.Write(w =>
            {
                w.WriteStartObject();
                w.WritePropertyName("features");
                JsonOut.WriteValue(w, features);
                w.WriteNumber("window", window);
                w.WriteString("layout", "time-major: the value of feature f at step t (oldest first) is at index t*features+f");
                w.WriteStartArray("inputs");
                Field(w, "window", [-1, width], "raw readings of one machine, window consecutive steps");
                w.WriteEndArray();
                w.WriteStartArray("outputs");
                Field(w, "reconstruction", [-1, width], "the reconstructed window in raw units");
                Field(w, "error", [-1], "standardised reconstruction error (about 1 on normal data); anomaly when error > threshold");
                w.WriteEndArray();
                w.WriteEndObject();
            })),
            new(Keys.Features, string.Join(",", features)),
            new(Keys.Window, window.ToString(inv)),
            new(Keys.Stride, stride.ToString(inv)),
            new(Keys.Normalisation, JsonOut.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("method", centring == Centring.Window
                    ? "per feature: minus the window's own mean, divided by std (the training readings' interquartile range / 1.349)"
                    : "per feature: minus mean (the training readings' median), divided by std (their interquartile range / 1.349)");
                w.WriteString("centre", centring == Centring.Window ? "window" : "training");
                w.WritePropertyName("mean");
                JsonOut.WriteValue(w, mean);
                w.WritePropertyName("std");
                JsonOut.WriteValue(w, std);
                w.WriteEndObject();
            })),
            new(Keys.ResidualScale, JsonOut.Write(w => JsonOut.WriteValue(w, residualScale))),
            new(Keys.Threshold, threshold.ToString("R", inv)),
            new(Keys.TargetFpr, targetFpr.ToString("R", inv)),
            new(Keys.Score, "error = max over features f of mean over steps t of ((reconstruction[t,f] - x[t,f]) / residual_scale[f])^2, x the normalised window"),
            new(Keys.SamplingInterval, samplingInterval?.ToString(inv) ?? ""),
            new(Keys.GapFill, gapFill.ToString(inv)),
            // Quality only: a wall-clock time would make two identical trainings' model files differ.
            new(Keys.Evaluation, JsonOut.Write(w => JsonOut.WriteMetrics(w, evaluation.WithoutWallClock()))),
        ];
    }

    private static void Field(System.Text.Json.Utf8JsonWriter w, string name, int[] shape, string meaning)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("type", "float");
        w.WriteStartArray("shape");
        foreach (var d in shape)
            if (d < 0) w.WriteStringValue("N");
            else w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteString("meaning", meaning);
        w.WriteEndObject();
    }
}
