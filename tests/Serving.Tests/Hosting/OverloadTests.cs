using System.Diagnostics;
using System.Net;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Hosting;

[Collection(Timing.Name)]
public class OverloadTests(TrainedModels models)
{
    /// <summary>A batch delay of a second keeps the admitted requests busy, so that the rest meets a full server.</summary>
    [Theory]
    [InlineData("--Serving:MaxConcurrency=4", 4, "overloaded: 4 requests are in flight")]
    [InlineData("--Serving:QueueCapacity=3", 3, "the batch queue of rec@1 is full")]
    public async Task Given_a_server_at_its_bound_When_more_requests_arrive_Then_they_get_429_with_retry_after_at_once(string bound, int admitted, string reason)
    {
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1()], bound, "--Serving:MaxDelayMs=1000");

        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            var clock = Stopwatch.StartNew();
            using var response = await host.Client.GetAsync($"/recommend?user_id={i + 1}");
            return (response.StatusCode, clock.Elapsed, RetryAfter: response.Headers.RetryAfter?.Delta, Body: await response.Content.ReadAsStringAsync());
        }));

        answers.Count(a => a.StatusCode == HttpStatusCode.OK).ShouldBe(admitted);
        var refused = answers.Where(a => a.StatusCode != HttpStatusCode.OK).ToList();
        refused.ShouldAllBe(a => a.StatusCode == HttpStatusCode.TooManyRequests);
        refused.ShouldAllBe(a => a.RetryAfter == TimeSpan.FromSeconds(1) && a.Body.Contains(reason));
        refused.Max(a => a.Elapsed).ShouldBeLessThan(TimeSpan.FromMilliseconds(500), "refusals come at once, not after the batch delay");
        answers.Where(a => a.StatusCode == HttpStatusCode.OK).Min(a => a.Elapsed).ShouldBeGreaterThan(TimeSpan.FromMilliseconds(700));
    }
}
