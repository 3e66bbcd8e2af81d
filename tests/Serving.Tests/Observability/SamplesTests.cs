using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EventMlOps.Contracts.Drift;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Observability;
using EventMlOps.Serving.Tests.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Serving.Tests.Observability;

/// <summary><c>GET /samples</c>: what the drift agent reads of a replica's traffic, behind the endpoint's samples key.</summary>
public class SamplesTests(TrainedModels models)
{
    private const string Key = "the-endpoints-samples-key";
    private const int Steps = 30, Features = 3, Width = Steps * Features;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<ServingHost> HostAsync(params string[] settings) =>
        ServingHost.StartAsync(models, [models.RecommenderV1(), models.Anomaly()], [$"--Serving:SamplesKey={Key}", "--Serving:SamplesPerSecond=1000", .. settings]);

    private static async Task<DriftSamplePage> PageAsync(ServingHost host, string query = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/samples" + query) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Key) } };
        using var response = await host.Client.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return JsonSerializer.Deserialize<DriftSamplePage>(text, Json)!;
    }

    /// <summary>Waits until the replica holds <paramref name="count"/> samples (they are moved into the ring off the request path).</summary>
    private static async Task<DriftSamplePage> SamplesAsync(ServingHost host, int count)
    {
        for (var tries = 0; ; tries++)
        {
            var page = await PageAsync(host, $"?limit={Samples.MaxPage}");
            if (page.Samples.Count >= count || tries == 100) return page;
            await Task.Delay(20, Ct);
        }
    }

    private static float[] Window(int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, Width).Select(i => (float)((i % Features) switch { 0 => 60 + rng.NextDouble(), 1 => 2 + 0.1 * rng.NextDouble(), _ => 5 + 0.1 * rng.NextDouble() }))];
    }

    [Fact]
    public async Task Given_scored_windows_When_samples_are_read_Then_each_window_is_a_sample_of_its_channels_readings_by_feature_name_and_its_error()
    {
        await using var host = await HostAsync();
        float[][] windows = [Window(1), Window(2), Window(3)];

        var (status, body, _) = await host.PostJson("/score", JsonSerializer.Serialize(new { windows }));
        status.ShouldBe(HttpStatusCode.OK, body.ToString());
        var page = await SamplesAsync(host, 3);

        page.Samples.Count.ShouldBe(3);
        (page.Next, page.Dropped).ShouldBe((3L, 0L));
        var scores = body.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("score").GetSingle()).ToList();
        for (var w = 0; w < 3; w++)
        {
            var sample = page.Samples[w];
            (sample.Model, sample.Version).ShouldBe((TrainedModels.Sensors, 1));
            sample.Inputs.Keys.Order().ShouldBe(["pressure", "temperature", "vibration"]);
            string[] channels = ["temperature", "vibration", "pressure"];
            for (var f = 0; f < Features; f++)
                sample.Inputs[channels[f]].ShouldBe(Enumerable.Range(0, Steps).Select(t => (double)windows[w][t * Features + f]).ToArray(), $"{channels[f]}, raw units as sent");
            sample.Outputs.Keys.ShouldBe(["error"]);
            sample.Outputs["error"].ShouldBe([scores[w]]);
        }
    }

    [Fact]
    public async Task Given_recommendations_When_samples_are_read_Then_they_hold_the_users_training_activity_whether_it_is_unknown_and_each_items_popularity()
    {
        await using var host = await HostAsync();
        var seen = DirectOrt.Seen(models.RecommenderPath);
        var known = seen.UserIds[7];
        var unknown = seen.UserIds[^1] + 1000;

        var (status, body, _) = await host.GetJson($"/recommend?user_id={known}&k=4");
        status.ShouldBe(HttpStatusCode.OK, body.ToString());
        (await host.GetJson($"/recommend?user_id={unknown}&k=3")).Status.ShouldBe(HttpStatusCode.OK);
        var page = await SamplesAsync(host, 2);

        var popularity = seen.InteractionsPerItem();
        double Popularity(long item) => popularity[Array.IndexOf(seen.ItemIds, item)];
        var first = page.Samples[0];
        first.Inputs["user_activity"].ShouldBe([seen.Of(7).Length]);
        first.Inputs["unknown_user"].ShouldBe([0.0]);
        first.Outputs["recommended_popularity"].ShouldBe([.. body.GetProperty("items").EnumerateArray().Select(i => Popularity(i.GetProperty("itemId").GetInt64()))]);
        var second = page.Samples[1];
        second.Inputs["user_activity"].ShouldBe([0.0]);
        second.Inputs["unknown_user"].ShouldBe([1.0]);
        second.Outputs["recommended_popularity"].Length.ShouldBe(3);
        second.Outputs["recommended_popularity"].ShouldBe([.. second.Outputs["recommended_popularity"].OrderDescending()], "the popularity fallback: most popular first");
    }

    [Fact]
    public async Task Given_samples_When_paged_with_cursors_Then_each_page_continues_after_the_last_and_another_process_has_another_epoch()
    {
        await using var host = await HostAsync();
        await using var other = await HostAsync();
        for (var i = 0; i < 5; i++) (await host.GetJson($"/recommend?user_id={i + 1}&k=2")).Status.ShouldBe(HttpStatusCode.OK);
        await SamplesAsync(host, 5);

        var first = await PageAsync(host, "?after=0&limit=2");
        var second = await PageAsync(host, $"?after={first.Next}&limit=2");
        var rest = await PageAsync(host, $"?after={second.Next}");
        var empty = await PageAsync(host, $"?after={rest.Next}");
        var beyond = await PageAsync(host, "?after=1000");

        (first.Next, second.Next, rest.Next, empty.Next).ShouldBe((2L, 4L, 5L, 5L));
        (first.Samples.Count, second.Samples.Count, rest.Samples.Count, empty.Samples.Count).ShouldBe((2, 2, 1, 0));
        first.Samples.Concat(second.Samples).Concat(rest.Samples).Select(s => s.Time).ShouldBe((await PageAsync(host)).Samples.Select(s => s.Time));
        (beyond.Next, beyond.Samples.Count).ShouldBe((5L, 0), "a cursor of another epoch reads from the last sample on");
        new[] { first.Epoch, second.Epoch, rest.Epoch }.Distinct().ShouldHaveSingleItem();
        (await PageAsync(other)).Epoch.ShouldNotBe(first.Epoch);
    }

    [Fact]
    public async Task Given_the_samples_route_When_asked_without_the_key_with_another_key_or_with_bad_cursors_Then_401_and_400_problems_that_echo_nothing_large()
    {
        await using var host = await HostAsync();
        async Task<HttpResponseMessage> Get(string query, string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/samples" + query);
            if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return await host.Client.SendAsync(request, Ct);
        }

        await (await Get("", null)).ShouldBeProblem(HttpStatusCode.Unauthorized, "samples key");
        await (await Get("", Key + "x")).ShouldBeProblem(HttpStatusCode.Unauthorized, "samples key");
        await (await Get("", Key[..^1])).ShouldBeProblem(HttpStatusCode.Unauthorized, "samples key");
        await (await Get("?after=-1", Key)).ShouldBeProblem(HttpStatusCode.BadRequest, "after must be a cursor");
        await (await Get("?after=abc", Key)).ShouldBeProblem(HttpStatusCode.BadRequest, "after must be a cursor");
        await (await Get("?after=" + new string('9', 500), Key)).ShouldBeProblem(HttpStatusCode.BadRequest, "a value of 500 characters");
        await (await Get("?limit=0", Key)).ShouldBeProblem(HttpStatusCode.BadRequest, "limit must be an integer from 1 to 1000");
        await (await Get($"?limit={Samples.MaxPage + 1}", Key)).ShouldBeProblem(HttpStatusCode.BadRequest, "limit must be");
        (await Get("", Key)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Given_no_samples_key_When_requests_are_served_Then_the_route_does_not_exist_and_nothing_is_sampled()
    {
        var host = await models.SharedAsync();
        (await host.GetJson("/recommend?user_id=1")).Status.ShouldBe(HttpStatusCode.OK);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/samples") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "") } };
        (await host.Client.SendAsync(request, Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        host.App.Services.GetRequiredService<Samples>().Take().ShouldBeFalse();
    }

    [Fact]
    public async Task Given_sampling_at_3_per_second_When_30_requests_arrive_at_once_Then_only_a_few_are_sampled()
    {
        await using var host = await HostAsync("--Serving:SamplesPerSecond=3");

        for (var i = 0; i < 30; i++) (await host.GetJson($"/recommend?user_id={i + 1}&k=2")).Status.ShouldBe(HttpStatusCode.OK);
        await Task.Delay(300, Ct);

        var page = await PageAsync(host);
        page.Samples.Count.ShouldBeInRange(1, 6);
        page.Dropped.ShouldBe(0);
    }

    [Fact]
    public async Task Given_a_full_queue_and_a_small_ring_When_more_samples_arrive_Then_the_queue_drops_and_counts_them_and_the_ring_keeps_the_newest()
    {
        using var samples = new Samples(new ServingOptions { SamplesKey = Key, SamplesBuffer = 100 }, TimeProvider.System);
        Dictionary<string, double[]> Numbered(int n) => new() { ["n"] = [n] };

        // Not started yet: nothing reads the queue, so it fills.
        for (var n = 1; n <= Samples.QueueCapacity + 6; n++) samples.Add("m", 1, Numbered(n), Numbered(n));
        await samples.StartAsync(Ct);
        var page = samples.Read(0, Samples.MaxPage);
        for (var tries = 0; page.Next < Samples.QueueCapacity && tries < 100; tries++, page = samples.Read(0, Samples.MaxPage)) await Task.Delay(20, Ct);
        await samples.StopAsync(Ct);

        page.Dropped.ShouldBe(6);
        page.Next.ShouldBe(Samples.QueueCapacity);
        page.Samples.Select(s => (int)s.Inputs["n"][0]).ShouldBe(Enumerable.Range(Samples.QueueCapacity - 99, 100), "the last 100, in order");
        samples.Read(Samples.QueueCapacity - 3, 2).Samples.Select(s => (int)s.Inputs["n"][0]).ShouldBe([Samples.QueueCapacity - 2, Samples.QueueCapacity - 1]);
    }
}
