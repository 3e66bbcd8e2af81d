using System.Globalization;
using EventMlOps.Models;
using EventMlOps.Training.Running;
using Onnx;
using static EventMlOps.Models.OnnxGraph;
using Keys = EventMlOps.Models.ModelMetadata;
using DataType = Onnx.TensorProto.Types.DataType;

namespace EventMlOps.Training.Anomaly;

/// <summary>The anomaly detector as ONNX: input <c>window</c> float [N, window·features] in raw units (time-major);
/// the graph normalises it with the training constants, reconstructs it, and outputs <c>reconstruction</c>
/// (float [N, window·features], raw units) and <c>error</c> (float [N], the standardised reconstruction error: per
/// feature the mean over the window of (normalised residual / residual scale)², the largest of those; an alarm is
/// <c>error &gt; threshold</c> from the metadata).</summary>
public static class AnomalyExport
{
    public static ModelProto Build(Autoencoder model, int features, float[] meanTiled, float[] stdTiled, float[] residualScaleTiled, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var width = meanTiled.Length;
        var g = new OnnxGraph("sensor_autoencoder");
        g.Input("window", DataType.Float, "N", width);
        var mean = g.Initializer("normalisation.mean", meanTiled, width);
        var std = g.Initializer("normalisation.std", stdTiled, width);
        var x = g.Node("Div", [g.Node("Sub", ["window", mean]), std], "normalised");
        var h = x;
        var weights = model.Weights();
        for (var l = 0; l < weights.Length; l++)
        {
            h = g.Linear(h, $"layers.{l}", weights[l].Weight, weights[l].Bias, model.Sizes[l + 1], model.Sizes[l]);
            if (model.Activated(l)) h = g.Node("Relu", [h]);
        }
        g.Node("Add", [g.Node("Mul", [h, std]), mean], "reconstruction");
        var diff = g.Node("Div", [g.Node("Sub", [h, x]), g.Initializer("error.residual_scale", residualScaleTiled, width)]);
        var perStep = g.Node("Reshape", [g.Node("Mul", [diff, diff]), g.Initializer("error.steps_by_features", [0L, -1L, features], 3)]);
        var perFeature = g.Node("ReduceMean", [perStep], null, Ints("axes", 1), Int("keepdims", 0));
        g.Node("ReduceMax", [perFeature], "error", Ints("axes", 1), Int("keepdims", 0));
        g.Output("reconstruction", DataType.Float, "N", width);
        g.Output("error", DataType.Float, "N");
        return g.Build(metadata, "Sensor-window autoencoder trained by emo-train: error(window) > threshold is an anomaly");
    }

    public static List<KeyValuePair<string, string>> Metadata(string[] features, int window, int stride, float[] mean, float[] std,
        float[] residualScale, double threshold, double targetFpr, int[] sizes, long? samplingInterval, Metrics evaluation)
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
                w.WriteString("method", "z-score per feature, constants learned on the training readings");
                w.WritePropertyName("mean");
                JsonOut.WriteValue(w, mean);
                w.WritePropertyName("std");
                JsonOut.WriteValue(w, std);
                w.WriteEndObject();
            })),
            new(Keys.ResidualScale, JsonOut.Write(w => JsonOut.WriteValue(w, residualScale))),
            new(Keys.Threshold, threshold.ToString("R", inv)),
            new(Keys.TargetFpr, targetFpr.ToString("R", inv)),
            new(Keys.Score, "error = max over features f of mean over steps t of ((reconstruction[t,f] - x[t,f]) / residual_scale[f])^2, x the z-scored window"),
            new(Keys.SamplingInterval, samplingInterval?.ToString(inv) ?? ""),
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
