using System.Net;
using System.Text.Json;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Security;

/// <summary>The probe's malformed inference requests, pinned to a version: each is the caller's mistake — a 400 with a
/// reason, never a 500 — so that anonymous clients cannot make a canary look broken and get it rolled back.</summary>
public class HostileRequestsTests(TrainedModels models)
{
    private static string Infer(params object[] inputs) => JsonSerializer.Serialize(new { inputs });

    private static object Tensor(string name, long[] shape, string datatype, object data) => new { name, shape, datatype, data };

    public static TheoryData<string, string> Malformed => new()
    {
        { "/v2/models/rec/versions/1/infer", Infer(Tensor("user", [1], "INT64", new[] { -1L }), Tensor("item", [1], "INT64", new[] { 0L })) },
        { "/v2/models/rec/versions/1/infer", Infer(Tensor("user", [1], "INT64", new[] { 1L << 40 }), Tensor("item", [1], "INT64", new[] { 0L })) },
        { "/v2/models/rec/versions/1/infer", Infer(Tensor("user", [0], "INT64", Array.Empty<long>()), Tensor("item", [0], "INT64", Array.Empty<long>())) },
        { "/v2/models/rec/versions/1/infer", Infer(Tensor("user", [2], "INT64", new[] { 1L, 2L }), Tensor("item", [3], "INT64", new[] { 1L, 2L, 3L })) },
        { "/v2/models/sensors/versions/1/infer", Infer(Tensor("window", [0, 90], "FP32", Array.Empty<float>())) },
        { "/v2/models/sensors/versions/1/infer", Infer(Tensor("window", [1, 90], "FP32", Enumerable.Repeat(3e38f, 90).ToArray())) },
        { "/v2/models/sensors/versions/1/infer", Infer(Tensor("window", [9_000_000_000, 90], "FP32", new float[90])) },
        { "/score", JsonSerializer.Serialize(new { window = Enumerable.Repeat(3e38, 90).ToArray() }) },
        { "/score", """{"window": [1e39]}""" },
        { "/score", """{"window": "not readings"}""" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Given_a_malformed_request_When_it_is_pinned_to_a_version_Then_it_is_a_400_and_never_counts_as_a_server_error(string route, string body)
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1(), models.Anomaly()]);

        for (var i = 0; i < 5; i++)
            (await host.PostJson(route, body)).Status.ShouldBe(HttpStatusCode.BadRequest, $"{route} {body[..Math.Min(120, body.Length)]}");
        (await host.Client.GetAsync("/recommend?user_id=1&k=3")).StatusCode.ShouldBe(HttpStatusCode.OK, "the server is unharmed");

        // Counted by the versions the requests were pinned to (other tests' servers in this process share the instruments).
        double Of(string text, string model, string statusClass) =>
            PrometheusText.Sum(text, "emo_serving_request_duration_seconds_count", ("model", model), ("version", "1"), ("status_class", statusClass));
        var metrics = await host.ScrapeUntilAsync(t => Of(t, TrainedModels.Rec, "4xx") + Of(t, TrainedModels.Sensors, "4xx") >= 5);
        (Of(metrics, TrainedModels.Rec, "4xx") + Of(metrics, TrainedModels.Sensors, "4xx")).ShouldBeGreaterThanOrEqualTo(5);
        (Of(metrics, TrainedModels.Rec, "5xx") + Of(metrics, TrainedModels.Sensors, "5xx")).ShouldBe(0);
    }

    [Fact]
    public async Task Given_a_huge_query_value_When_recommending_Then_the_400_does_not_echo_it()
    {
        var host = await models.SharedAsync();
        var huge = new string('9', 4000);
        var response = await host.Client.GetAsync($"/recommend?user_id={huge}&k=3");
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldNotContain(new string('9', 100));
    }

    [Fact]
    public async Task Given_a_fresh_replica_whose_new_version_is_corrupt_When_a_fallback_is_listed_Then_the_fallback_serves_and_the_report_says_so()
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1(weight: 0), models.HashMismatch() with { Weight = 100 }]);

        (await host.GetJson("/recommend?user_id=1&k=3")).Version.ShouldBe("rec@1");
        host.Table.Routes.Select(r => (r.Model.Label, r.Weight)).ShouldBe([("rec@1", 100)]);
    }

    [Fact]
    public async Task Given_a_good_new_version_beside_a_fallback_When_applied_Then_only_the_new_one_takes_unpinned_traffic_and_the_fallback_stays_pinnable()
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1()]);

        await host.ApplyAsync(2, models.RecommenderV1(weight: 0), models.RecommenderV2());

        for (var i = 0; i < 20; i++) (await host.GetJson($"/recommend?user_id={i + 1}&k=3")).Version.ShouldBe("rec@2");
        (await host.GetJson("/v2/models/rec/versions/1/ready")).Status.ShouldBe(HttpStatusCode.OK);
    }
}
