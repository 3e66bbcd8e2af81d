using System.Diagnostics;
using System.Net;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Hosting;

[Collection(Timing.Name)]
public class OverloadTests(TrainedModels models)
{
    /// <summary>A version that takes a second per request (an injected latency, inside admission) keeps the admitted
    /// requests in flight, so that the rest meets a full server.</summary>
    [Fact]
    public async Task Given_a_server_at_its_bound_When_more_requests_arrive_Then_they_get_429_with_retry_after_at_once()
    {
        await using var host = await ServingHost.StartAsync(models,
            [models.WithFaults(TrainedModels.Rec, 1, models.RecommenderPath, new EventMlOps.Models.InjectedFaults(LatencyMs: 1000, ErrorRate: 0))],
            "--Serving:MaxConcurrency=4");

        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            var clock = Stopwatch.StartNew();
            using var response = await host.Client.GetAsync($"/recommend?user_id={i + 1}");
            return (response.StatusCode, clock.Elapsed, RetryAfter: response.Headers.RetryAfter?.Delta, Body: await response.Content.ReadAsStringAsync());
        }));

        answers.Count(a => a.StatusCode == HttpStatusCode.OK).ShouldBe(4);
        var refused = answers.Where(a => a.StatusCode != HttpStatusCode.OK).ToList();
        refused.ShouldAllBe(a => a.StatusCode == HttpStatusCode.TooManyRequests);
        refused.ShouldAllBe(a => a.RetryAfter == TimeSpan.FromSeconds(1) && a.Body.Contains("overloaded: 4 requests are in flight"));
        refused.Max(a => a.Elapsed).ShouldBeLessThan(TimeSpan.FromMilliseconds(500), "refusals come at once, not after the admitted requests");
        answers.Where(a => a.StatusCode == HttpStatusCode.OK).Min(a => a.Elapsed).ShouldBeGreaterThan(TimeSpan.FromMilliseconds(700));
    }
}
