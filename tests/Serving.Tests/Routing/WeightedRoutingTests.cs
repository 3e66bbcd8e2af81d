using System.Collections.Concurrent;
using System.Net;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Routing;

public class WeightedRoutingTests(TrainedModels models)
{
    [Fact]
    public async Task Given_two_versions_weighted_90_10_When_10000_requests_arrive_Then_each_version_serves_its_share_within_3_percent()
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1(weight: 90), models.RecommenderV2(weight: 10)]);
        var served = new ConcurrentDictionary<string, int>();
        var failed = 0;

        await Parallel.ForEachAsync(Enumerable.Range(0, 10_000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            using var response = await host.Client.GetAsync($"/recommend?user_id={1 + i % 300}&k=3", ct);
            if (response.StatusCode != HttpStatusCode.OK) Interlocked.Increment(ref failed);
            served.AddOrUpdate(response.Headers.GetValues("X-Model-Version").Single(), 1, (_, n) => n + 1);
        });

        failed.ShouldBe(0);
        served.Keys.Order().ShouldBe(["rec@1", "rec@2"]);
        served["rec@1"].ShouldBeInRange(8_700, 9_300);
        served["rec@2"].ShouldBeInRange(700, 1_300);
    }

    [Fact]
    public async Task Given_a_version_with_weight_0_When_requests_pin_it_Then_only_pinned_requests_reach_it()
    {
        var host = await models.SharedAsync();
        await using var canary = await ServingHost.StartAsync(models, [models.RecommenderV1(weight: 100), models.RecommenderV2(weight: 0)]);

        for (var i = 0; i < 50; i++)
            (await canary.GetJson("/recommend?user_id=1")).Version.ShouldBe("rec@1");
        var pinned = await canary.PostJson("/v2/models/rec/versions/2/infer",
            """{"inputs": [{"name": "user", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "item", "shape": [1], "datatype": "INT64", "data": [2]}]}""");

        (pinned.Status, pinned.Version).ShouldBe((HttpStatusCode.OK, "rec@2"));
        (await host.GetJson("/v2/models/rec")).Body.GetProperty("versions").GetArrayLength().ShouldBe(1);
        (await canary.GetJson("/v2/models/rec")).Body.GetProperty("versions").EnumerateArray().Select(v => v.GetString()).ShouldBe(["1", "2"]);
    }
}
