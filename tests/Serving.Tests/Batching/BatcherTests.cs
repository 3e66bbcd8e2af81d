using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Batching;

public class BatcherTests(TrainedModels models)
{
    [Fact]
    public async Task Given_requests_arriving_within_the_delay_When_batched_Then_they_run_together_up_to_the_max_batch()
    {
        var batches = new ConcurrentQueue<int>();
        await using var batcher = new Batcher<int, int>("doubler", maxBatch: 4, TimeSpan.FromMilliseconds(200), capacity: 100,
            (inputs, rows) => inputs.Select(i => i * 2).ToArray(), batches.Enqueue);

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => batcher.Submit(i, 1)));

        results.ShouldBe(Enumerable.Range(0, 10).Select(i => i * 2));
        batches.ShouldBe([4, 4, 2]);
    }

    [Fact]
    public async Task Given_a_failing_run_When_batched_Then_every_request_of_the_batch_sees_the_failure_and_the_next_batch_runs()
    {
        var fail = true;
        await using var batcher = new Batcher<int, int>("flaky", 8, TimeSpan.FromMilliseconds(50), 100,
            (inputs, _) => fail ? throw new InvalidOperationException("boom") : inputs.ToArray(), _ => { });

        var failed = Enumerable.Range(0, 3).Select(i => batcher.Submit(i, 1)).ToList();
        foreach (var f in failed) (await Should.ThrowAsync<InvalidOperationException>(f)).Message.ShouldBe("boom");
        fail = false;

        (await batcher.Submit(7, 1)).ShouldBe(7);
        batcher.Depth.ShouldBe(0);
    }

    [Fact]
    public async Task Given_concurrent_recommend_requests_When_served_Then_ONNX_Runtime_runs_them_in_batches()
    {
        // Its own model name: the metrics of other hosts in this process carry other names.
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1(name: "batched")], "--Serving:MaxDelayMs=100", "--Serving:MaxBatch=16");

        var statuses = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i => (await host.Client.GetAsync($"/recommend?user_id={i + 1}")).StatusCode));

        statuses.ShouldAllBe(s => s == HttpStatusCode.OK);
        var metrics = await host.Client.GetStringAsync("/metrics");
        var count = Value(metrics, "emo_serving_batch_size_count", "batched");
        var rows = Value(metrics, "emo_serving_batch_size_sum", "batched");
        rows.ShouldBe(16);
        count.ShouldBeLessThan(16, "concurrent requests share runs");
    }

    private static double Value(string metrics, string name, string model) =>
        double.Parse(Regex.Match(metrics, $@"^{name}\{{[^}}]*model=""{model}""[^}}]*\}} (\S+)$", RegexOptions.Multiline).Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
}
