using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Batching;

public class BatcherTests(TrainedModels models)
{
    [Fact]
    public async Task Given_requests_arriving_while_a_run_is_in_progress_When_batched_Then_they_run_together_up_to_the_max_batch()
    {
        var batches = new ConcurrentQueue<int>();
        using var firstRunning = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        await using var batcher = new Batcher<int, int>("doubler", maxBatch: 4, TimeSpan.FromMilliseconds(200), capacity: 100, (inputs, rows) =>
        {
            if (inputs[0] == 0)
            {
                firstRunning.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            }
            return [.. inputs.Select(i => i * 2)];
        }, batches.Enqueue);

        var first = Task.Run(() => batcher.Submit(0, 1));
        firstRunning.Wait(TimeSpan.FromSeconds(30)).ShouldBeTrue();
        var rest = Enumerable.Range(1, 9).Select(i => batcher.Submit(i, 1)).ToList();
        release.Set();
        var results = await Task.WhenAll([first, .. rest]);

        results.ShouldBe(Enumerable.Range(0, 10).Select(i => i * 2));
        batches.ShouldBe([1, 4, 4, 1]);
        (batcher.RanAtOnce, batcher.Queued).ShouldBe((1L, 9L));
    }

    [Fact]
    public async Task Given_requests_that_find_the_model_idle_When_submitted_Then_each_runs_at_once_without_waiting_for_the_delay()
    {
        var batches = new ConcurrentQueue<int>();
        // A delay no request could sit out within this test: an idle model must not apply it.
        await using var batcher = new Batcher<int, int>("idle", maxBatch: 64, TimeSpan.FromMinutes(10), capacity: 100,
            (inputs, _) => [.. inputs.Select(i => i + 1)], batches.Enqueue);

        var answered = Enumerable.Range(0, 5).Select(i => batcher.Submit(i, 1)).ToList();

        answered.ShouldAllBe(t => t.IsCompletedSuccessfully, "each ran before Submit returned");
        (await Task.WhenAll(answered)).ShouldBe([1, 2, 3, 4, 5]);
        batches.ShouldBe([1, 1, 1, 1, 1]);
        (batcher.RanAtOnce, batcher.Queued, batcher.Depth).ShouldBe((5L, 0L, 0));
    }

    [Fact]
    public async Task Given_a_run_in_progress_and_a_full_queue_When_another_request_arrives_Then_it_is_refused_at_once_and_the_rest_are_answered()
    {
        using var firstRunning = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        await using var batcher = new Batcher<int, int>("rec@1", maxBatch: 64, TimeSpan.Zero, capacity: 3, (inputs, _) =>
        {
            if (inputs[0] == 0)
            {
                firstRunning.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            }
            return [.. inputs];
        }, _ => { });

        var first = Task.Run(() => batcher.Submit(0, 1));
        firstRunning.Wait(TimeSpan.FromSeconds(30)).ShouldBeTrue();
        var queued = new[] { batcher.Submit(1, 1), batcher.Submit(2, 1) };

        Should.Throw<QueueFullException>(() => batcher.Submit(3, 1)).Message.ShouldBe("the batch queue of rec@1 is full");
        release.Set();
        (await Task.WhenAll([first, .. queued])).ShouldBe([0, 1, 2]);
        batcher.Depth.ShouldBe(0);
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

        // Many at once: the first finds the model idle and runs at once; those arriving during its run are batched.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i => (await host.Client.GetAsync($"/recommend?user_id={i % 16 + 1}")).StatusCode));

        statuses.ShouldAllBe(s => s == HttpStatusCode.OK);
        var metrics = await host.Client.GetStringAsync("/metrics");
        var count = Value(metrics, "emo_serving_batch_size_count", "batched");
        var rows = Value(metrics, "emo_serving_batch_size_sum", "batched");
        rows.ShouldBe(64);
        count.ShouldBeLessThan(64, "concurrent requests share runs");
    }

    private static double Value(string metrics, string name, string model) =>
        double.Parse(Regex.Match(metrics, $@"^{name}\{{[^}}]*model=""{model}""[^}}]*\}} (\S+)$", RegexOptions.Multiline).Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
}
