using System.Net;
using System.Text.Json;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Security;

/// <summary>The probe's malformed inference requests, pinned to a version: each is the caller's mistake — a 400 with a
/// short reason, checked before ONNX Runtime or the ranking kernel sees it, never a 500 — so that anonymous clients cannot
/// make a canary look broken and get it rolled back.</summary>
public class HostileRequestsTests(TrainedModels models)
{
    private const string Rec = "/v2/models/rec/versions/1/infer", Sensors = "/v2/models/sensors/versions/1/infer";

    private static string Infer(params object?[] inputs) => JsonSerializer.Serialize(new { inputs });

    private static object Tensor(string name, long[]? shape, string datatype, object data) => new { name, shape, datatype, data };

    private static object Users(params long[] users) => Tensor("user", [users.Length], "INT64", users);

    private static object Items(params long[] items) => Tensor("item", [items.Length], "INT64", items);

    private static object Window(long[] shape, float[] data) => Tensor("window", shape, "FP32", data);

    private static float[] Readings(float value, int at = 0) => [.. Enumerable.Range(0, 90).Select(i => i == at ? value : 1f)];

    /// <summary>Route, and body (POST) or none (GET).</summary>
    public static readonly IReadOnlyList<(string Route, string? Body)> Malformed =
    [
        // The recommender's graph, pinned: indices out of its tables (-1 would be the last user), shapes, datatypes, names.
        (Rec, Infer(Users(-1), Items(0))),
        (Rec, Infer(Users(300), Items(0))),
        (Rec, Infer(Users(1L << 40), Items(0))),
        (Rec, Infer(Users(1), Items(100_000))),
        (Rec, Infer(Tensor("user", [0], "INT64", Array.Empty<long>()), Tensor("item", [0], "INT64", Array.Empty<long>()))),
        (Rec, Infer(Users(1, 2), Items(1, 2, 3))),
        (Rec, Infer(Tensor("user", [3], "INT64", new[] { 1L, 2L }), Items(1, 2, 3))),
        (Rec, Infer(Tensor("user", [-1], "INT64", new[] { 1L }), Items(1))),
        (Rec, Infer(Tensor("user", [9_000_000_000_000_000_000], "INT64", new[] { 1L }), Items(1))),
        (Rec, Infer(Tensor("user", [1, 1], "INT64", new[] { 1L }), Items(1))),
        (Rec, Infer(Tensor("user", null, "INT64", new[] { 1L }), Items(1))),
        (Rec, Infer(Tensor("user", [1], "FP32", new[] { 1f }), Items(1))),
        (Rec, Infer(Tensor("user", [1], new string('X', 5000), new[] { 1L }), Items(1))),
        (Rec, Infer(Users(1))),
        (Rec, Infer(Users(1), Items(1), Users(2))),
        (Rec, Infer(null, Items(1))),
        (Rec, Infer(Tensor(new string('u', 5000), [1], "INT64", new[] { 1L }), Items(1))),
        (Rec, Infer(Tensor("user", [1], "INT64", new[] { 1.5 }), Items(1))),
        (Rec, Infer(Tensor("user", [1], "INT64", new[] { 1e300 }), Items(1))),
        (Rec, Infer(Tensor("user", [1], "INT64", new[] { "1" }), Items(1))),
        (Rec, JsonSerializer.Serialize(new { inputs = new[] { Users(1), Items(1) }, outputs = new object?[] { null } })),
        (Rec, JsonSerializer.Serialize(new { inputs = new[] { Users(1), Items(1) }, outputs = new[] { new { name = new string('o', 5000) } } })),
        (Rec, """{"inputs": 5}"""),
        (Rec, "null"),
        // The autoencoder's graph, pinned: empty, huge or wrong dimensions, values float32 cannot hold or no sensor reads.
        (Sensors, Infer(Window([0, 90], []))),
        (Sensors, Infer(Window([9_000_000_000, 90], new float[90]))),
        (Sensors, Infer(Window([1, 89], new float[89]))),
        (Sensors, Infer(Window([1, 90], new float[89]))),
        (Sensors, Infer(Window([1, 90], Readings(3e38f, 0)))),
        (Sensors, Infer(Window([1, 90], Readings(-3e38f, 89)))),
        (Sensors, Infer(Window([1, 90], [.. Enumerable.Repeat(3e38f, 90)]))),
        (Sensors, Infer(Tensor("window", [1, 90], "FP32", Enumerable.Repeat(1e39, 90).ToArray()))),
        (Sensors, Infer(Tensor("window", [1, 90], "FP32", Enumerable.Repeat("NaN", 90).ToArray()))),
        (Sensors, Infer(Tensor("window", [1, 90], "INT64", new long[90]))),
        // /score (one anomaly version): readings beyond float32, far outside the training data, or not numbers.
        ("/score", JsonSerializer.Serialize(new { window = Enumerable.Repeat(3e38, 90).ToArray() })),
        ("/score", JsonSerializer.Serialize(new { window = Readings(3e38f, 45) })),
        ("/score", JsonSerializer.Serialize(new { windows = new[] { Readings(1f), Readings(-3e38f, 7) } })),
        ("/score", """{"window": [1e39]}"""),
        ("/score", JsonSerializer.Serialize(new { window = Enumerable.Repeat(1e39, 90).ToArray() })),
        ("/score", """{"window": [NaN]}"""),
        ("/score", """{"window": ["Infinity"]}"""),
        ("/score", """{"window": "not readings"}"""),
        // /recommend: user_id and k out of range, not numbers, control characters.
        ("/recommend?user_id=1&k=0", null),
        ("/recommend?user_id=1&k=-1", null),
        ("/recommend?user_id=1&k=101", null),
        ("/recommend?user_id=1&k=99999999999999999999", null),
        ("/recommend?user_id=1&k=abc", null),
        ("/recommend?user_id=1&k=%00", null),
        ("/recommend?user_id=1&k=5%00", null),
        ("/recommend?user_id=%00", null),
        ("/recommend?user_id=1%00", null),
        ("/recommend?user_id=abc", null),
        ("/recommend?user_id=99999999999999999999", null),
        ("/recommend?user_id=1&user_id=2", null),
        ("/recommend", null),
    ];

    [Fact]
    public async Task Given_bursts_of_malformed_requests_pinned_to_a_version_When_sent_Then_all_are_400_none_counts_as_a_5xx_and_the_server_still_serves()
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1(), models.Anomaly()]);

        foreach (var (route, body) in Malformed)
        {
            var burst = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
            {
                using var response = body is null
                    ? await host.Client.GetAsync(route)
                    : await host.Client.PostAsync(route, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
                return (response.StatusCode, Text: await response.Content.ReadAsStringAsync());
            }));
            var what = $"{route} {body?[..Math.Min(120, body.Length)]}";
            foreach (var (status, text) in burst)
            {
                status.ShouldBe(HttpStatusCode.BadRequest, $"{what} → {text}");
                var reason = JsonDocument.Parse(text).RootElement.GetProperty(route.StartsWith("/v2") ? "error" : "detail").GetString()!;
                reason.Length.ShouldBeInRange(1, 300, $"{what}: a short reason, never the input echoed");
            }
        }
        (await host.Client.GetAsync("/recommend?user_id=1&k=3")).StatusCode.ShouldBe(HttpStatusCode.OK, "the server is unharmed");
        (await host.PostJson("/score", JsonSerializer.Serialize(new { window = Readings(1f) }))).Status.ShouldBe(HttpStatusCode.OK);
        (await host.PostJson(Rec, Infer(Users(299), Items(0)))).Status.ShouldBe(HttpStatusCode.OK);

        // Every refusal is counted as a 4xx of its route, none as a 5xx of the versions the requests were pinned to (other
        // tests' servers in this process share the instruments: hence at least, and only these versions' 5xx).
        var refused = Malformed.CountBy(m => RouteName(m.Route)).ToList();
        double Of(string text, params (string, string)[] labels) => PrometheusText.Sum(text, "emo_serving_request_duration_seconds_count", labels);
        var metrics = await host.ScrapeUntilAsync(t => refused.All(r => Of(t, ("route", r.Key), ("status_class", "4xx")) >= 5 * r.Value));
        foreach (var (route, count) in refused) Of(metrics, ("route", route), ("status_class", "4xx")).ShouldBeGreaterThanOrEqualTo(5 * count, route);
        foreach (var model in (string[])[TrainedModels.Rec, TrainedModels.Sensors])
            Of(metrics, ("model", model), ("version", "1"), ("status_class", "5xx")).ShouldBe(0, model);
    }

    private static string RouteName(string route) => route.StartsWith("/v2") ? "infer" : route[1..].Split('?')[0];

    [Fact]
    public async Task Given_a_huge_query_value_When_recommending_Then_the_400_does_not_echo_it()
    {
        var host = await models.SharedAsync();
        var huge = new string('9', 4000);
        var response = await host.Client.GetAsync($"/recommend?user_id={huge}&k=3");
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldNotContain(new string('9', 100));
    }
}
