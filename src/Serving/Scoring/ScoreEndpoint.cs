using System.Text.Json;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Loading;
using EventMlOps.Serving.Observability;
using EventMlOps.Serving.Routing;

namespace EventMlOps.Serving.Scoring;

/// <summary><c>POST /score</c> with <c>{"window": […]}</c> or <c>{"windows": [[…], …]}</c>: raw readings of one
/// machine, time-major (a flat array of steps × features numbers, or one array of features per step) → the anomaly
/// score of each window, the threshold and the verdict (score &gt; threshold). <c>X-Model-Version: N</c> pins a loaded
/// version, whatever its traffic weight, for offline evaluation: such requests are counted as <see cref="PinnedRoute"/>
/// (canary analysis reads the other routes) and their windows are not sampled for drift.</summary>
public static class ScoreEndpoint
{
    public const string VersionHeader = "X-Model-Version";

    /// <summary>The route label of pinned requests: not live traffic, so neither canary analysis nor drift sampling sees them.</summary>
    public const string PinnedRoute = "score-pinned";

    public sealed record WindowScore(float Score, bool Anomaly);

    public sealed record OneScore(string Model, int Version, double Threshold, float Score, bool Anomaly);

    public sealed record ManyScores(string Model, int Version, double Threshold, IReadOnlyList<WindowScore> Results);

    private const string Usage = """send {"window": [...]} or {"windows": [[...], ...]}: readings, time-major""";

    public static void MapScore(this IEndpointRouteBuilder app) =>
        app.MapPost("/score", ScoreAsync).WithMetadata(new ModelRoute("score", Oip: false));

    private static async Task<object> ScoreAsync(HttpContext http, Router router, Samples samples)
    {
        if (http.Request.ContentLength == 0) throw Refusal.BadInput($"the body is empty: {Usage}");
        using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw Refusal.BadInput($"the body is not an object: {Usage}");
        var single = root.TryGetProperty("window", out var one);
        JsonElement[] windows = single ? [one]
            : root.TryGetProperty("windows", out var many) && many.ValueKind == JsonValueKind.Array && many.GetArrayLength() > 0 ? [.. many.EnumerateArray()]
            : throw Refusal.BadInput($"no windows: {Usage}");

        var pinned = http.Request.Headers.TryGetValue(VersionHeader, out var pin);
        if (pinned && http.Features.Get<ServedBy>() is { } served) served.CountedAs = PinnedRoute;
        using var lease = await http.ServeInferenceAsync(router, t => pinned ? Pinned(t, pin.ToString()) : t.Choose(m => m is AnomalyModel),
            "no anomaly model version takes traffic");
        var model = (AnomalyModel)lease.Model;
        var flat = new float[windows.Length * model.Width];
        for (var w = 0; w < windows.Length; w++) Readings(windows[w], w, model, flat);
        if (model.Outlier(flat) is { } outlier) throw Refusal.BadInput(outlier);
        var scores = Inference.OpenInferenceProtocol.Finite(await model.ScoreAsync(flat, windows.Length));

        object result = single
            ? new OneScore(model.Name, model.Version, model.Threshold, scores[0], scores[0] > model.Threshold)
            : new ManyScores(model.Name, model.Version, model.Threshold, scores.Select(s => new WindowScore(s, s > model.Threshold)).ToList());
        for (var w = 0; w < windows.Length && !pinned; w++)
            if (!samples.AddWindow(model, flat.AsSpan(w * model.Width, model.Width), scores[w])) break;
        return result;
    }

    /// <summary>The loaded anomaly version <paramref name="pin"/> names, weighted or not; anything else is the caller's mistake.</summary>
    private static ServedModel Pinned(RoutingTable table, string pin)
    {
        var loaded = table.Routes.Select(r => r.Model).Where(m => m is AnomalyModel).ToList();
        return !int.TryParse(pin, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
            ? throw Refusal.BadInput($"{VersionHeader} must be a version number, not {Refusal.Shown(pin)}")
            : loaded.FirstOrDefault(m => m.Version == version)
              ?? throw Refusal.BadInput($"version {version} of the anomaly model is not loaded here (loaded: {(loaded.Count == 0 ? "none" : string.Join(", ", loaded.Select(m => m.Version).Order()))})");
    }

    /// <summary>Copies window <paramref name="index"/>'s readings to its place in <paramref name="flat"/>, refusing any
    /// other shape with what was expected.</summary>
    private static void Readings(JsonElement window, int index, AnomalyModel model, float[] flat)
    {
        var features = model.Features.Length;
        var expected = $"{model.Steps} steps × {features} features ({string.Join(", ", model.Features)}) = {model.Width} readings";
        var at = 0;
        void Take(JsonElement reading)
        {
            if (reading.ValueKind != JsonValueKind.Number) throw Refusal.BadInput($"window {index}: readings must be numbers, found {reading.ValueKind}");
            if (!reading.TryGetSingle(out var value) || !float.IsFinite(value)) throw Refusal.BadInput($"window {index}: reading {at} is beyond the range of float32");
            if (at < model.Width) flat[index * model.Width + at] = value; // the count is checked once all are seen
            at++;
        }
        if (window.ValueKind != JsonValueKind.Array) throw Refusal.BadInput($"window {index} is not an array: expected {expected}");
        foreach (var item in window.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Array)
            {
                Take(item);
                continue;
            }
            if (item.GetArrayLength() != features) throw Refusal.BadInput($"window {index}: a step has {item.GetArrayLength()} readings, expected {features}");
            foreach (var reading in item.EnumerateArray()) Take(reading);
        }
        if (at != model.Width) throw Refusal.BadInput($"window {index} has {at} readings: expected {expected}");
    }
}
