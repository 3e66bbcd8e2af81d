using System.Globalization;
using EventMlOps.Models;
using ModelMetadata = EventMlOps.Models.ModelMetadata;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Loading;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace EventMlOps.Serving.Bench;

/// <summary>The servers the real one is compared with, run by this executable in a child process of its own
/// (<c>--serve trivial|naive-recommender|naive-anomaly</c>) so that each server, like emo-serve, has a process to itself:
/// <list type="bullet">
/// <item><c>trivial</c>: Kestrel answering a constant (GET, or POST reading the body) — the framework's limit on these cores;</item>
/// <item><c>naive-recommender</c>: the trainer's NeuMF graph run once per request over every item (user repeated), a
/// full sort, no batching or precomputation — the baseline a first server would be;</item>
/// <item><c>naive-anomaly</c>: one autoencoder run per request, no batching.</item>
/// </list>
/// ONNX Runtime sessions get the serving process's options (<see cref="OrtSessions"/>), so only the design differs.</summary>
public static class BaselineServers
{
    private static readonly RunOptions Run = new();

    public static async Task<int> RunAsync(string kind, string? model, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapGet("/ready", () => "ok");
        switch (kind)
        {
            case "trivial":
                app.MapGet("/trivial", () => Results.Json(new { ok = true }));
                // The same for a request with a body (/score's): the body is read to its end, nothing more.
                app.MapPost("/trivial", async (HttpRequest request) =>
                {
                    await request.Body.CopyToAsync(Stream.Null);
                    return Results.Json(new { ok = true });
                });
                break;
            case "naive-recommender":
                MapNaiveRecommender(app, Session(model));
                break;
            case "naive-anomaly":
                MapNaiveAnomaly(app, Session(model));
                break;
            default:
                throw new ArgumentException($"unknown server '{kind}'");
        }
        await app.RunAsync();
        return 0;
    }

    private static InferenceSession Session(string? model) =>
        new OrtSessions(new ServingOptions(), NullLogger<OrtSessions>.Instance).Create(File.ReadAllBytes(model ?? throw new ArgumentException("--model is required")));

    private static void MapNaiveRecommender(WebApplication app, InferenceSession session)
    {
        var metadata = session.ModelMetadata.CustomMetadataMap;
        var seen = SeenItems.Parse(Convert.FromBase64String(metadata[ModelMetadata.SeenItems]));
        var popular = metadata[ModelMetadata.PopularItems].Split(',').Select(i => int.Parse(i, CultureInfo.InvariantCulture)).ToArray();
        var items = seen.ItemIds.Length;
        var itemIndices = Enumerable.Range(0, items).Select(i => (long)i).ToArray();
        app.MapGet("/recommend", (long user_id, int? k) =>
        {
            var take = k ?? 10;
            var user = seen.UserIndex(user_id);
            if (user < 0) return Results.Json(new { items = popular.Take(take).Select(i => new { id = seen.ItemIds[i] }), fallback = "popularity" });
            var users = new long[items];
            Array.Fill(users, user);
            using var userInput = OrtValue.CreateTensorValueFromMemory(users, [items]);
            using var itemInput = OrtValue.CreateTensorValueFromMemory(itemIndices, [items]);
            using var outputs = session.Run(Run, ["user", "item"], [userInput, itemInput], ["score"]);
            var scores = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            var order = Enumerable.Range(0, items).ToArray();
            Array.Sort(scores.Select(s => -s).ToArray(), order);
            var had = seen.Of(user).ToArray();
            var top = order.Where(i => Array.BinarySearch(had, i) < 0).Take(take);
            return Results.Json(new { items = top.Select(i => new { id = seen.ItemIds[i], score = scores[i] }) });
        });
    }

    private static void MapNaiveAnomaly(WebApplication app, InferenceSession session)
    {
        var threshold = double.Parse(session.ModelMetadata.CustomMetadataMap[ModelMetadata.Threshold], CultureInfo.InvariantCulture);
        var input = session.InputMetadata.Keys.Single();
        var width = session.InputMetadata[input].Dimensions[1];
        app.MapPost("/score", (ScoreRequest request) =>
        {
            if (request.Window is not { } window || window.Length != width) return Results.BadRequest($"send {{\"window\": [{width} readings]}}");
            using var tensor = OrtValue.CreateTensorValueFromMemory(window, [1, width]);
            using var outputs = session.Run(Run, [input], [tensor], ["error"]);
            var score = outputs[0].GetTensorDataAsSpan<float>()[0];
            return Results.Json(new { score, threshold, anomaly = score > threshold });
        });
    }

    public sealed record ScoreRequest(float[]? Window);
}
