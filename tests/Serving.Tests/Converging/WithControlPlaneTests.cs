using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.Hosting;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Converging;

/// <summary>emo-serve against the real control plane: real PostgreSQL, real HTTP and tokens, real trained models in a
/// content-addressed artifact store. The serving process follows rollouts through the long poll and the endpoint
/// shows what it reported.</summary>
public sealed class WithControlPlaneTests(TrainedModels models, ControlPlaneFixture cp) : IClassFixture<ControlPlaneFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_an_endpoint_rolled_out_to_v1_When_emo_serve_starts_Then_it_serves_v1_and_the_endpoint_shows_its_report()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (v1, artifact) = await lifecycle.VersionAsync(models.RecommenderPath);

        await using var serving = await lifecycle.ServingAsync(v1, "serving-a");
        var endpoint = await lifecycle.ObservedAsync();

        (await serving.Client.GetAsync("/health/ready", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var answer = await serving.GetJson("/recommend?user_id=1&k=5");
        answer.Status.ShouldBe(HttpStatusCode.OK);
        answer.Version.ShouldBe($"{lifecycle.Model}@1");
        answer.Body.GetProperty("items").GetArrayLength().ShouldBe(5);
        artifact.Uri.ShouldContain($"/sha256/{artifact.Sha256[..2]}/{artifact.Sha256}");
        (endpoint.Ready, endpoint.ObservedRevision, endpoint.ObservedMessage).ShouldBe((true, endpoint.Revision, null));
        endpoint.ObservedLoaded.ShouldBe([new LoadedVersion(v1, artifact.Sha256, 100)]);
        await using var session = cp.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(StreamKeys.Endpoint(lifecycle.Endpoint), token: Ct);
        events.Where(e => e.Data is EndpointStateObserved).Select(e => e.UserName).ShouldBe(["serving-a", "serving-a"], "the rollout's revision, then its promotion's");
    }

    [Fact]
    public async Task Given_v1_served_When_a_canary_of_v2_at_10_percent_is_rolled_out_and_promoted_Then_emo_serve_splits_90_10_and_then_serves_only_v2()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (v1, first) = await lifecycle.VersionAsync(models.RecommenderPath);
        var (v2, second) = await lifecycle.VersionAsync(models.RecommenderV2Path);
        second.Sha256.ShouldNotBe(first.Sha256);
        await using var serving = await lifecycle.ServingAsync(v1, "serving-b");

        await lifecycle.RollOutAsync(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 0)]));
        // Reported within 10 s, well inside the poll's 30 s wait: the waiting long poll was answered with the new revision.
        var canary = await lifecycle.ObservedAsync();

        canary.Revision.ShouldBe(3, "the immediate rollout (1), its promotion once served (2), the canary (3)");
        canary.Ready.ShouldBe(true);
        canary.ObservedLoaded.ShouldBe([new LoadedVersion(v1, first.Sha256, 90), new LoadedVersion(v2, second.Sha256, 10)]);
        var split = await VersionsServedAsync(serving, 400);
        split.Keys.Order().ShouldBe([$"{lifecycle.Model}@1", $"{lifecycle.Model}@2"]);
        split[$"{lifecycle.Model}@2"].ShouldBeInRange(12, 80, "10 % of 400 is 40; this range is more than 4 standard deviations wide");

        await lifecycle.PromoteAsync();
        var promoted = await lifecycle.ObservedAsync();

        promoted.Revision.ShouldBe(4);
        promoted.Ready.ShouldBe(true);
        // v1, the last version known to load, stays as the fallback (weight 0) until the next revision.
        promoted.ObservedLoaded!.Where(l => l.Weight > 0).ShouldBe([new LoadedVersion(v2, second.Sha256, 100)]);
        (await VersionsServedAsync(serving, 20)).Keys.ShouldBe([$"{lifecycle.Model}@2"]);
    }

    [Fact]
    public async Task Given_v1_served_When_a_version_whose_artifact_does_not_match_its_sha256_is_rolled_out_Then_emo_serve_refuses_it_keeps_v1_and_reports_not_ready()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (v1, first) = await lifecycle.VersionAsync(models.RecommenderPath);
        // The run reports v1's digest for another file: what a mixed-up upload or a tampered store looks like.
        var (v2, _) = await lifecycle.VersionAsync(models.RecommenderV2Path, claimedSha256: first.Sha256);
        await using var serving = await lifecycle.ServingAsync(v1, "serving-c");

        await lifecycle.RollOutAsync(v2);
        // The replica refuses v2 and says so; the control plane fails the rollout, and v1 — served throughout — is desired again.
        var refused = await lifecycle.ObservedAsync(e => e.Rollouts.Count == 2 && e.Ready == true, seconds: 20);

        refused.Rollouts[^1].Outcome.ShouldBe("failed to load");
        refused.Rollouts[^1].Reason!.ShouldContain($"{lifecycle.Model}@{v2} did not load on the replica");
        refused.Rollouts[^1].Reason!.ShouldContain($"does not match the recorded sha256 {first.Sha256[..12]}");
        refused.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(v1, 100)], "what served before serves again");
        refused.ObservedLoaded.ShouldBe([new LoadedVersion(v1, first.Sha256, 100)]);
        (await VersionsServedAsync(serving, 20)).Keys.ShouldBe([$"{lifecycle.Model}@1"]);
        (await serving.Client.GetAsync("/health/ready", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, "v1 still serves");
    }

    [Fact]
    public async Task Given_a_serving_process_that_could_not_load_its_revision_When_one_restarts_and_loads_it_Then_the_endpoint_shows_ready_again()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (v1, artifact) = await lifecycle.VersionAsync(models.RecommenderPath);
        await (await lifecycle.ServingAsync(v1, "serving-d")).DisposeAsync(); // served v1, reported ready, stopped
        var stored = new Uri(artifact.Uri).LocalPath;
        File.Move(stored, stored + ".away");
        try
        {
            await using (await cp.StartServingAsync(lifecycle.Endpoint, "serving-d"))
                (await lifecycle.ObservedAsync(e => e.Ready == false)).ObservedMessage!.ShouldContain("does not exist");
        }
        finally
        {
            File.Move(stored + ".away", stored);
        }

        await using var restarted = await cp.StartServingAsync(lifecycle.Endpoint, "serving-d");
        var endpoint = await lifecycle.ObservedAsync(e => e.Ready == true);

        endpoint.ObservedLoaded.ShouldBe([new LoadedVersion(v1, artifact.Sha256, 100)], "the same report as the first process's, reported anew");
        (await restarted.GetJson("/recommend?user_id=1")).Version.ShouldBe($"{lifecycle.Model}@1");
    }

    /// <summary>How many of <paramref name="requests"/> unpinned recommendations each version answered (all must be 200).</summary>
    private static async Task<Dictionary<string, int>> VersionsServedAsync(ServingHost serving, int requests)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var versions = new List<string>();
            for (var i = worker; i < requests; i += 4)
            {
                var (status, _, version) = await serving.GetJson($"/recommend?user_id={1 + i % 300}&k=5");
                status.ShouldBe(HttpStatusCode.OK);
                versions.Add(version!);
            }
            return versions;
        })));
        return answers.SelectMany(v => v).CountBy(v => v).ToDictionary();
    }
}
