using System.Diagnostics;
using EventMlOps.Models;
using ModelMetadata = EventMlOps.Models.ModelMetadata;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Loading;
using EventMlOps.Serving.Recommending;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EventMlOps.Serving.Bench;

/// <summary>What one measurement of the compute limit saw: rows (users or windows) per second at a batch size.</summary>
public sealed record ComputeLimitResult(string Computation, int Batch, double RowsPerSecond);

/// <summary>The compute limit: the server's own computation run in this process, one batch after another (as its
/// batcher does) — the NeuMF ranker for /recommend, ONNX Runtime with the server's session options for /score — with
/// no HTTP, no JSON, no queue.</summary>
public static class ComputeLimit
{
    private static readonly RunOptions Run = new();

    /// <summary>/recommend's work, as the server does it: every item's logit for each user of a batch (the users spread
    /// over the cores), then top-10 without the user's own items.</summary>
    public static ComputeLimitResult Recommender(BenchModel model, int batch, TimeSpan duration)
    {
        var bytes = File.ReadAllBytes(model.Path);
        using var original = new InferenceSession(bytes);
        var seen = SeenItems.Parse(Convert.FromBase64String(original.ModelMetadata.CustomMetadataMap[ModelMetadata.SeenItems]));
        var ranker = NeuMFRanker.Build(ModelProto.Parser.ParseFrom(bytes));
        var random = new Random(7);
        var users = new int[batch];
        void Rank(int b)
        {
            var logits = new float[ranker.PaddedItems];
            ranker.Logits(users[b], logits);
            TopK.Select(logits.AsSpan(0, ranker.Items), seen.Of(users[b]), 10);
        }
        return Measure($"NeuMF ranker + top-10, {ranker.Items:N0} items", batch, duration, () =>
        {
            for (var b = 0; b < batch; b++) users[b] = random.Next(seen.UserIds.Length);
            if (batch == 1) Rank(0);
            else Parallel.For(0, batch, Rank);
        });
    }

    /// <summary>/score's work: the autoencoder over a batch of windows.</summary>
    public static ComputeLimitResult Anomaly(BenchModel model, int batch, TimeSpan duration)
    {
        using var session = new OrtSessions(new ServingOptions(), NullLogger<OrtSessions>.Instance).Create(File.ReadAllBytes(model.Path));
        var input = session.InputMetadata.Keys.Single();
        var width = session.InputMetadata[input].Dimensions[1];
        var windows = Workload.Windows(session, batch, new Random(7));
        return Measure("autoencoder", batch, duration, () =>
        {
            using var tensor = OrtValue.CreateTensorValueFromMemory(windows, [batch, width]);
            using var outputs = session.Run(Run, [input], [tensor], ["error"]);
        });
    }

    private static ComputeLimitResult Measure(string computation, int batch, TimeSpan duration, Action runBatch)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(1)) runBatch();
        long rows = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            runBatch();
            rows += batch;
        }
        return new(computation, batch, rows / clock.Elapsed.TotalSeconds);
    }
}
