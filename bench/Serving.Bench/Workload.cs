using System.Globalization;
using System.Text;
using System.Text.Json;
using EventMlOps.Models;
using ModelMetadata = EventMlOps.Models.ModelMetadata;
using Microsoft.ML.OnnxRuntime;

namespace EventMlOps.Serving.Bench;

/// <summary>The requests the load generator sends: /recommend for users the model knows, /score with one sensor window
/// of plausible readings (the training means with noise).</summary>
public static class Workload
{
    public static long[] KnownUsers(BenchModel model)
    {
        using var session = new InferenceSession(model.Path);
        return SeenItems.Parse(Convert.FromBase64String(session.ModelMetadata.CustomMetadataMap[ModelMetadata.SeenItems])).UserIds;
    }

    /// <summary><paramref name="count"/> windows laid end to end, each reading its feature's training mean ± 1 std.</summary>
    public static float[] Windows(InferenceSession session, int count, Random random)
    {
        using var normalisation = JsonDocument.Parse(session.ModelMetadata.CustomMetadataMap[ModelMetadata.Normalisation]);
        var mean = normalisation.RootElement.GetProperty("mean").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var std = normalisation.RootElement.GetProperty("std").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var width = (int)session.InputMetadata.Values.Single().Dimensions[1];
        var windows = new float[count * width];
        for (var i = 0; i < windows.Length; i++)
        {
            var f = i % mean.Length;
            windows[i] = mean[f] + std[f] * (float)(random.NextDouble() * 2 - 1);
        }
        return windows;
    }

    /// <summary>A few distinct /score bodies (<c>{"window": [...]}</c>) to cycle through.</summary>
    public static byte[][] ScoreBodies(BenchModel model, int count)
    {
        using var session = new InferenceSession(model.Path);
        var width = (int)session.InputMetadata.Values.Single().Dimensions[1];
        var windows = Windows(session, count, new Random(11));
        return [.. Enumerable.Range(0, count).Select(w => Encoding.UTF8.GetBytes(
            "{\"window\":[" + string.Join(',', windows.Skip(w * width).Take(width).Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]}"))];
    }
}
