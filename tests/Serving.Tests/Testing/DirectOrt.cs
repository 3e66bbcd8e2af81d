using EventMlOps.Models;
using Microsoft.ML.OnnxRuntime;

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>The expected answers: a model file run straight in ONNX Runtime, as its trainer verified it.</summary>
public static class DirectOrt
{
    /// <summary>The recommender's <c>score</c> for every (user, item) pair of <paramref name="users"/> × all items.</summary>
    public static float[][] Scores(string model, int[] users, int items)
    {
        using var session = new InferenceSession(model);
        var u = users.SelectMany(x => Enumerable.Repeat((long)x, items)).ToArray();
        var i = users.SelectMany(_ => Enumerable.Range(0, items).Select(x => (long)x)).ToArray();
        var scores = Run<long>(session, "score", ("user", u, [u.Length]), ("item", i, [i.Length]));
        return users.Select((_, n) => scores[(n * items)..((n + 1) * items)]).ToArray();
    }

    public static float[] AnomalyErrors(string model, float[] windows, int width)
    {
        using var session = new InferenceSession(model);
        return Run<float>(session, "error", ("window", windows, [windows.Length / width, width]));
    }

    public static SeenItems Seen(string model)
    {
        using var session = new InferenceSession(model);
        return SeenItems.Parse(Convert.FromBase64String(session.ModelMetadata.CustomMetadataMap[EventMlOps.Models.ModelMetadata.SeenItems]));
    }

    private static float[] Run<T>(InferenceSession session, string output, params (string Name, T[] Data, long[] Shape)[] inputs) where T : unmanaged
    {
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape)).ToList();
        try
        {
            using var options = new RunOptions();
            using var results = session.Run(options, inputs.Select(i => i.Name).ToList(), values, [output]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }
}
