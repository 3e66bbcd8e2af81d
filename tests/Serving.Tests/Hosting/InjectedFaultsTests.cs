using System.Diagnostics;
using System.Net;
using System.Text.Json;
using EventMlOps.Models;
using EventMlOps.Serving.Tests.Testing;
using static EventMlOps.Serving.Tests.Testing.TrainedModels;

namespace EventMlOps.Serving.Tests.Hosting;

/// <summary>Versions that carry injected faults in their metadata (<c>emo.fault.*</c>), for rehearsing rollbacks. Their
/// models have names of their own: every host in this process exports the measurements of all of them (the meter
/// listener goes by the meter's name), so series of "rec" would mix with other tests' requests.</summary>
public class InjectedFaultsTests(TrainedModels models)
{
    private const string Count = "emo_serving_request_duration_seconds_count";
    private const string Failing = "rec-failing", FailingSensors = "sensors-failing", Slow = "rec-slow";

    private static string Infer(params long[] users) => JsonSerializer.Serialize(new
    {
        inputs = new[] { new { name = "user", shape = new[] { users.Length }, datatype = "INT64", data = users }, new { name = "item", shape = new[] { users.Length }, datatype = "INT64", data = users } },
    });

    private static (string, string)[] Served(string route, string model, int version, string statusClass) =>
        [("route", route), ("model", model), ("version", version.ToString()), ("status_class", statusClass)];

    [Fact]
    public async Task Given_a_version_with_error_rate_1_When_inference_requests_reach_it_Then_each_fails_with_500_under_its_version_and_counts_as_its_5xx()
    {
        var faults = new InjectedFaults(LatencyMs: 0, ErrorRate: 1);
        await using var host = await ServingHost.StartAsync(models,
            [models.RecommenderV1(weight: 0, name: Failing), models.WithFaults(Failing, 2, models.RecommenderPath, faults), models.WithFaults(FailingSensors, 1, models.AnomalyPath, faults)]);

        for (var i = 0; i < 3; i++)
        {
            var response = await host.Client.GetAsync($"/recommend?user_id={i + 1}");
            await response.ShouldBeProblem(HttpStatusCode.InternalServerError, "injected fault (emo.fault.error_rate=1)");
            response.Headers.GetValues("X-Model-Version").ShouldBe(["rec-failing@2"]);
        }
        var score = await host.PostJson("/score", JsonSerializer.Serialize(new { window = new float[90] }));
        (score.Status, score.Version, score.Body.GetProperty("detail").GetString()).ShouldBe((HttpStatusCode.InternalServerError, "sensors-failing@1", "injected fault (emo.fault.error_rate=1)"));
        var infer = await host.PostJson("/v2/models/rec-failing/infer", Infer(1, 2));
        (infer.Status, infer.Version, infer.Body.GetProperty("error").GetString()).ShouldBe((HttpStatusCode.InternalServerError, "rec-failing@2", "injected fault (emo.fault.error_rate=1)"));
        var clean = await host.PostJson("/v2/models/rec-failing/versions/1/infer", Infer(1, 2));
        (clean.Status, clean.Version).ShouldBe((HttpStatusCode.OK, "rec-failing@1"), clean.Body.ToString());
        (await host.GetJson("/v2/models/rec-failing/versions/2")).Status.ShouldBe(HttpStatusCode.OK, "metadata is not inference: no fault");

        var metrics = await host.ScrapeUntilAsync(m => PrometheusText.Sum(m, Count, Served("infer", Failing, 1, "2xx")) >= 1);
        PrometheusText.Sum(metrics, Count, Served("recommend", Failing, 2, "5xx")).ShouldBe(3, metrics);
        // The exact text the rollout agent parses (documented in src/Serving/README.md): scope first, labels by name.
        metrics.ShouldContain("""
            emo_serving_request_duration_seconds_count{otel_scope_name="EventMlOps.Serving",model="rec-failing",route="recommend",status_class="5xx",version="2"} 3
            """);
        PrometheusText.Sum(metrics, Count, Served("score", FailingSensors, 1, "5xx")).ShouldBe(1);
        PrometheusText.Sum(metrics, Count, Served("infer", Failing, 2, "5xx")).ShouldBe(1);
        PrometheusText.Sum(metrics, Count, Served("infer", Failing, 1, "2xx")).ShouldBe(1);
        PrometheusText.Sum(metrics, Count, Served("metadata", Failing, 2, "2xx")).ShouldBe(1);
        PrometheusText.Sum(metrics, Count, ("model", Failing), ("status_class", "2xx"), ("version", "2")).ShouldBe(1, "only the metadata request");
    }

    [Fact]
    public async Task Given_a_version_with_200_ms_of_latency_When_requests_reach_it_Then_none_is_answered_sooner()
    {
        await using var host = await ServingHost.StartAsync(models, [models.WithFaults(Slow, 2, models.RecommenderPath, new InjectedFaults(LatencyMs: 200, ErrorRate: 0))]);

        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            var (status, body, version) = await host.GetJson($"/recommend?user_id={i + 1}&k=3");
            clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200));
            (status, version).ShouldBe((HttpStatusCode.OK, "rec-slow@2"), body.ToString());
            body.GetProperty("items").GetArrayLength().ShouldBe(3);
        }

        var metrics = await host.ScrapeUntilAsync(m => PrometheusText.Sum(m, Count, Served("recommend", Slow, 2, "2xx")) >= 3);
        PrometheusText.Sum(metrics, Count, Served("recommend", Slow, 2, "2xx")).ShouldBe(3, metrics);
        PrometheusText.Sum(metrics, "emo_serving_request_duration_seconds_bucket", [.. Served("recommend", Slow, 2, "2xx"), ("le", "0.1")]).ShouldBe(0);
    }

    [Theory]
    [InlineData(ModelMetadata.FaultErrorRate, "1.5")]
    [InlineData(ModelMetadata.FaultLatencyMs, "slow")]
    public async Task Given_a_malformed_fault_in_the_metadata_When_the_version_is_desired_Then_it_is_refused_and_the_old_version_keeps_serving(string key, string value)
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1()]);

        await host.ApplyAsync(2, models.RecommenderV1(weight: 50), models.WithFaults(Rec, 2, models.RecommenderPath, InjectedFaults.None, new KeyValuePair<string, string>(key, value)) with { Weight = 50 });

        host.Table.Routes.Select(r => (r.Model.Label, r.Weight)).ShouldBe([("rec@1", 50)]);
        (await host.GetJson("/recommend?user_id=1")).Version.ShouldBe("rec@1");
    }
}
