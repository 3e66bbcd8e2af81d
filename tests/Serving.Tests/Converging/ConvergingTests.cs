using System.Collections.Concurrent;
using System.Net;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Converging;

public class ConvergingTests(TrainedModels models)
{
    [Fact]
    public async Task Given_continuous_load_When_a_new_version_replaces_the_old_Then_no_request_fails_and_the_old_version_unloads()
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1()]);
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var versions = new ConcurrentQueue<(bool AfterSwap, string? Version)>();
        var swapped = false;
        using var stop = new CancellationTokenSource();

        var load = Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var afterSwap = Volatile.Read(ref swapped);
                using var response = await host.Client.GetAsync($"/recommend?user_id={1 + (worker * 50 + i) % 300}&k=5");
                statuses.Add(response.StatusCode);
                versions.Enqueue((afterSwap, response.Headers.TryGetValues("X-Model-Version", out var v) ? v.Single() : null));
            }
        })).ToList();
        await Until(() => versions.Count(v => v.Version == "rec@1") >= 50);
        await host.ApplyAsync(2, models.RecommenderV2());
        Volatile.Write(ref swapped, true);
        await Until(() => versions.Count(v => v.AfterSwap) >= 50);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        statuses.Count.ShouldBeGreaterThan(100);
        statuses.ShouldAllBe(s => s == HttpStatusCode.OK);
        versions.Where(v => !v.AfterSwap).Select(v => v.Version).ShouldContain("rec@1");
        var afterSwap = versions.Where(v => v.AfterSwap).Select(v => v.Version).ToList();
        afterSwap.ShouldNotBeEmpty();
        afterSwap.ShouldAllBe(v => v == "rec@2", "a request that starts after the swap meets v2 only");
        (await host.GetJson("/v2/models/rec/versions/1/ready")).Status.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Given_an_artifact_with_a_wrong_sha256_or_broken_content_When_it_is_desired_Then_it_is_refused_and_the_old_version_keeps_serving()
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1()]);

        await host.ApplyAsync(2, models.HashMismatch());
        await Serves(host, "rec@1");
        host.Table.Routes.Select(r => (r.Model.Label, r.Weight)).ShouldBe([("rec@1", 100)]);

        await host.ApplyAsync(3, models.RecommenderV1(weight: 50), models.Broken());
        await Serves(host, "rec@1");
        host.Table.Routes.Select(r => (r.Model.Label, r.Weight)).ShouldBe([("rec@1", 50)]);
        (await host.Client.GetAsync("/health/ready")).StatusCode.ShouldBe(HttpStatusCode.OK);

        await host.ApplyAsync(4, models.RecommenderV2());
        await Serves(host, "rec@2");
    }

    [Theory]
    [InlineData("30")] // the window's length: a window could be made up of one carried reading
    [InlineData("2147483647")]
    [InlineData("-1")]
    public async Task Given_a_detector_whose_gap_fill_is_not_under_its_window_When_desired_Then_it_is_refused_and_nothing_serves(string gapFill)
    {
        var forged = models.WithFaults(TrainedModels.Sensors, 1, models.AnomalyPath, EventMlOps.Models.InjectedFaults.None,
            new KeyValuePair<string, string>(EventMlOps.Models.ModelMetadata.GapFill, gapFill));

        await using var host = await ServingHost.StartAsync(models, [forged]);

        (await host.Client.GetAsync("/health/ready")).StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        host.Table.Routes.ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_only_a_refused_version_When_requests_arrive_Then_503_with_retry_after_at_once()
    {
        await using var host = await ServingHost.StartAsync(models, [models.HashMismatch()]);

        var response = await host.Client.GetAsync("/recommend?user_id=1");

        await response.ShouldBeProblem(HttpStatusCode.ServiceUnavailable, "not ready");
        response.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(1));
        (await host.Client.GetAsync("/health/ready")).StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await host.GetJson("/v2/health/ready")).Status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await host.Client.GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Given_device_auto_on_a_runtime_without_CUDA_When_a_version_loads_Then_it_serves_on_the_CPU()
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1()], "--Serving:Device=auto");

        await Serves(host, "rec@1");
    }

    private static async Task Until(Func<bool> condition)
    {
        for (var waited = 0; !condition(); waited += 10)
        {
            if (waited > 20_000) throw new TimeoutException("the load did not get going");
            await Task.Delay(10);
        }
    }

    private static async Task Serves(ServingHost host, string version)
    {
        for (var i = 0; i < 20; i++)
        {
            var (status, body, served) = await host.GetJson($"/recommend?user_id={i + 1}");
            (status, served).ShouldBe((HttpStatusCode.OK, version), body.ToString());
        }
    }
}
