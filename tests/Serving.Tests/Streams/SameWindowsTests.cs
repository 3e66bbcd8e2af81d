using System.Globalization;
using EventMlOps.Models;
using EventMlOps.Serving.Streams;
using EventMlOps.Serving.Tests.Testing;
using Microsoft.ML.OnnxRuntime;
using Keys = EventMlOps.Models.ModelMetadata;

namespace EventMlOps.Serving.Tests.Streams;

/// <summary>One windowing for training, offline scoring and streams: readings with outages (short ones filled over, long ones
/// gaps) and the duplicates of reconnections, scored by <c>emo-train anomaly score</c> and cut by the stream scorer's windows,
/// give the same windows and the same scores.</summary>
public sealed class SameWindowsTests
{
    [Fact]
    public async Task Given_readings_with_gaps_and_duplicates_When_scored_offline_and_cut_as_a_stream_Then_both_score_the_same_windows_alike()
    {
        var folder = Directory.CreateTempSubdirectory("emo-same-windows-").FullName;
        try
        {
            var (csv, model, scores) = (Path.Combine(folder, "readings.csv"), Path.Combine(folder, "model", "model.onnx"), Path.Combine(folder, "scores.csv"));
            await TrainedModels.RunTrainerAsync("generate", "sensors", "--out", csv, "--machines", "2", "--days", "4", "--seed", "11", "--outages", "8");
            await TrainedModels.RunTrainerAsync("anomaly", "--data", csv, "--epochs", "1", "--window", "10", "--hidden", "16,4", "--gap-tolerance", "5m",
                "--out", Path.GetDirectoryName(model)!);
            await TrainedModels.RunTrainerAsync("anomaly", "score", "--model", model, "--data", csv, "--out", scores);

            using var session = new InferenceSession(model);
            var meta = session.ModelMetadata.CustomMetadataMap;
            var (steps, interval, fill) = (int.Parse(meta[Keys.Window]), long.Parse(meta[Keys.SamplingInterval]), int.Parse(meta[Keys.GapFill]));
            fill.ShouldBe(5);
            var shape = new StreamShape(steps, 1, 3, interval, LatenessMs: 0, FillSlots: fill);

            var offline = File.ReadAllLines(scores).Skip(1).Select(l => l.Split(','))
                .Select(f => (Machine: f[0].Trim('"'), End: EventTime.Slot(DateTimeOffset.Parse(f[1], CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), interval),
                    Score: double.Parse(f[2], CultureInfo.InvariantCulture)))
                .ToList();
            var stream = Stream(csv, shape);
            var streamScores = DirectOrt.AnomalyErrors(model, [.. stream.SelectMany(w => w.Readings)], steps * 3);

            stream.Select(w => (w.Machine, w.End)).ShouldBe(offline.Select(o => (o.Machine, o.End)), "the same windows, in the same order");
            for (var i = 0; i < offline.Count; i++) ((double)streamScores[i]).ShouldBe(offline[i].Score, 1e-4 * Math.Max(1, offline[i].Score));
            Stream(csv, shape with { FillSlots = 0 }).Count.ShouldBeLessThan(stream.Count, "the short outages were filled over");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The readings of the CSV, machine by machine in file order, through the stream scorer's windows: the complete ones.</summary>
    private static List<(string Machine, long End, float[] Readings)> Stream(string csv, StreamShape shape)
    {
        var windows = new List<(string, long, float[])>();
        var machines = new Dictionary<string, MachineWindows>();
        foreach (var line in File.ReadLines(csv).Skip(1))
        {
            var f = line.Split(',');
            var state = machines.TryGetValue(f[0], out var known) ? known : machines[f[0]] = new MachineWindows();
            state.Add(DateTimeOffset.Parse(f[1], CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), [.. f[2..5].Select(v => float.Parse(v, CultureInfo.InvariantCulture))], shape);
            windows.AddRange(state.Close(shape).Where(w => w.Readings is not null).Select(w => (f[0], w.StartSlot + shape.Steps - 1, w.Readings!)));
        }
        return windows;
    }
}
