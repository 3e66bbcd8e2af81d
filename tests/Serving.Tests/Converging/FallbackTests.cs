using System.Collections.Concurrent;
using System.Net;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Converging;

/// <summary>A desired state may list a version with weight 0 beside the weighted ones: the endpoint's last version known
/// to load. It loads like the others; when every weighted version of its model is refused, it takes the model's traffic,
/// so that a replica never ends up serving nothing, and the report says so.</summary>
public class FallbackTests(TrainedModels models)
{
    /// <summary>v2 of the recommender that cannot load: a truncated artifact, or one that does not match its sha256.</summary>
    private ServedVersion Refused(string how) => how == "corrupt" ? models.Broken(version: 2) : models.HashMismatch(version: 2);

    [Theory]
    [InlineData("corrupt")]
    [InlineData("sha256")]
    public async Task Given_a_fresh_replica_When_its_weighted_version_is_refused_Then_the_fallback_serves_and_the_report_says_so(string how)
    {
        var desired = new ApplyEndpoint("recommend", 1, [models.RecommenderV1(weight: 0), Refused(how)], 1, 1);
        await using var controlPlane = await StandInControlPlane.StartAsync(desired);
        await using var serving = await controlPlane.StartServingAsync(models);

        var report = await controlPlane.ReportAsync(1);

        for (var i = 0; i < 20; i++)
        {
            var (status, body, version) = await serving.GetJson($"/recommend?user_id={i + 1}&k=3");
            (status, version).ShouldBe((HttpStatusCode.OK, "rec@1"), body.ToString());
        }
        report.Ready.ShouldBeFalse("the desired revision was not met in full");
        report.Loaded.ShouldBe([new LoadedVersion(1, models.RecommenderV1().ArtifactSha256, 100)]);
        report.Message!.ShouldStartWith("rec@2: ");
        report.Message.ShouldEndWith("; serving fallback rec@1");
        report.Message.Length.ShouldBeLessThan(400, "a short reason, no file contents");
    }

    [Fact]
    public async Task Given_a_running_replica_under_load_When_its_new_version_is_refused_beside_the_fallback_Then_the_fallback_keeps_serving_without_a_failed_request()
    {
        await using var controlPlane = await StandInControlPlane.StartAsync(new ApplyEndpoint("recommend", 1, [models.RecommenderV1()], 1, 1));
        await using var serving = await controlPlane.StartServingAsync(models);
        await controlPlane.ReportAsync(1);
        var answers = new ConcurrentQueue<(HttpStatusCode Status, string? Version)>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var (status, _, version) = await serving.GetJson($"/recommend?user_id={1 + (worker * 50 + i) % 300}&k=5");
                answers.Enqueue((status, version));
            }
        })).ToList();

        controlPlane.Publish(new ApplyEndpoint("recommend", 2, [models.RecommenderV1(weight: 0), Refused("corrupt")], 1, 1));
        var report = await controlPlane.ReportAsync(2);
        var answered = answers.Count;
        for (var waited = 0; answers.Count < answered + 50 && waited < 20_000; waited += 10) await Task.Delay(10);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        answers.Count.ShouldBeGreaterThanOrEqualTo(answered + 50, "requests went on after the report");
        answers.ShouldAllBe(a => a.Status == HttpStatusCode.OK && a.Version == "rec@1");
        serving.Table.Routes.Select(r => (r.Model.Label, r.Weight)).ShouldBe([("rec@1", 100)]);
        report.Ready.ShouldBeFalse();
        report.Loaded.ShouldBe([new LoadedVersion(1, models.RecommenderV1().ArtifactSha256, 100)]);
        report.Message!.ShouldStartWith("rec@2: ");
        report.Message.ShouldEndWith("; serving fallback rec@1");
    }

    [Fact]
    public async Task Given_a_good_new_version_beside_a_fallback_When_applied_Then_only_the_new_one_takes_unpinned_traffic_and_the_fallback_stays_pinnable()
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1()]);

        await host.ApplyAsync(2, models.RecommenderV1(weight: 0), models.RecommenderV2());

        for (var i = 0; i < 20; i++) (await host.GetJson($"/recommend?user_id={i + 1}&k=3")).Version.ShouldBe("rec@2");
        host.Table.Routes.Select(r => (r.Model.Label, r.Weight)).ShouldBe([("rec@1", 0), ("rec@2", 100)]);
        var pinned = await host.PostJson("/v2/models/rec/versions/1/infer",
            """{"inputs": [{"name": "user", "shape": [1], "datatype": "INT64", "data": [3]}, {"name": "item", "shape": [1], "datatype": "INT64", "data": [10]}]}""");
        (pinned.Status, pinned.Version).ShouldBe((HttpStatusCode.OK, "rec@1"), pinned.Body.ToString());
    }
}
