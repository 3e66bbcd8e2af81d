using EventMlOps.Contracts.Views;
using System.Diagnostics;
using System.Net.Http.Json;
using EventMlOps.Agents.Runtime;
using EventMlOps.Cli.Bus;
using EventMlOps.Cli.Streams;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Alarms;
using EventMlOps.Hosting;
using EventMlOps.Serving.Tests.Testing;
using Microsoft.Extensions.Hosting;

namespace EventMlOps.Serving.Tests.Streams;

/// <summary>Stream scoring as the agents launch it: the real control plane and agents with no stream settings beyond the
/// defaults, the <c>emo-serve</c> replica the rollout agent starts, readings published as <c>emo stream send</c> does on the
/// endpoint's PostgreSQL queue.</summary>
public sealed class StreamReplicaTests(TrainedModels models, ControlPlaneFixture cp) : IClassFixture<ControlPlaneFixture>, IAsyncLifetime
{
    private const int Batch = 50;
    private readonly string _home = TestHost.Folder("emo-stream-agents-");
    private IHost _agents = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _agents = await cp.StartAgentsAsync(_home);

    public async ValueTask DisposeAsync()
    {
        await _agents.StopAsync();
        _agents.Dispose();
        var runtime = LocalProcessRuntime.ForHome(_home, TimeSpan.FromSeconds(5));
        foreach (var job in await runtime.ListAsync(CancellationToken.None)) await runtime.DeleteAsync(job.Name, CancellationToken.None);
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task Given_an_anomaly_endpoint_rolled_out_through_the_agents_When_readings_with_an_anomaly_are_sent_on_its_queue_Then_its_replica_raises_the_alarm()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (version, _) = await lifecycle.VersionAsync(models.AnomalyPath);
        await lifecycle.RollOutAsync(version);
        var replica = (await lifecycle.ObservedAsync(e => e.Ready == true && e.Replicas is { Count: 1 }, seconds: 60)).Replicas!.Single();
        var csv = Path.Combine(cp.Scratch, $"{lifecycle.Endpoint}.csv");
        var (_, anomalyStart) = await SensorReadingsCsv.GenerateAsync(csv, days: 0.25, inject: true);

        await SendAsync(lifecycle.Endpoint, csv);

        var episodes = await EpisodesAsync(lifecycle.Endpoint, e => e.Any(a => a.Machine == "machine-1" && a.WindowEnd >= anomalyStart));
        var episode = episodes.Single(a => a.Machine == "machine-1" && a.WindowEnd >= anomalyStart && a.WindowStart <= anomalyStart.AddMinutes(20));
        (episode.ModelVersion, episode.RaisedBy).ShouldBe((version, replica.Name));
        using var scorer = new HttpClient { BaseAddress = new Uri(replica.Url!) };
        PrometheusText.Sum(await scorer.GetStringAsync("/metrics", Ct), "emo_stream_windows_total", ("outcome", "scored")).ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Given_a_recommender_endpoint_rolled_out_through_the_agents_When_readings_are_sent_on_its_queue_Then_its_replica_refuses_them_and_serves_on()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (version, _) = await lifecycle.VersionAsync(models.RecommenderPath);
        await lifecycle.RollOutAsync(version);
        var replica = (await lifecycle.ObservedAsync(e => e.Ready == true && e.Replicas is { Count: 1 }, seconds: 60)).Replicas!.Single();
        var csv = Path.Combine(cp.Scratch, $"{lifecycle.Endpoint}.csv");
        await SensorReadingsCsv.GenerateAsync(csv, days: 0.1, inject: false);
        using var client = new HttpClient { BaseAddress = new Uri(replica.Url!) };

        var batches = await SendAsync(lifecycle.Endpoint, csv);

        var clock = Stopwatch.StartNew();
        var refused = 0.0;
        while (refused < batches && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200, Ct);
            refused = PrometheusText.Sum(await client.GetStringAsync("/metrics", Ct), "emo_stream_batches_total", ("outcome", "not_anomaly"));
        }
        refused.ShouldBe(batches);
        using var recommended = await client.GetAsync("/recommend?user_id=1&k=5", Ct);
        recommended.IsSuccessStatusCode.ShouldBeTrue();
        (await lifecycle.StateAsync()).Replicas!.Single().ShouldSatisfyAllConditions(r => r.Restarts.ShouldBe(0), r => r.Url.ShouldBe(replica.Url));
        var job = await LocalProcessRuntime.ForHome(_home, TimeSpan.FromSeconds(5)).ObserveAsync(replica.Name, Ct);
        job.Phase.ShouldBe(JobPhase.Running);
        (job.LogTail ?? []).ShouldNotContain(line => line.Contains("\"@l\":\"Error\"", StringComparison.Ordinal));
    }

    /// <summary>The whole file in batches of <see cref="Batch"/>, as <c>emo stream send</c> publishes them; returns how many.</summary>
    private async Task<int> SendAsync(string endpoint, string csv)
    {
        var target = new BusTarget(new BusSettings(BusTransport.Postgresql, null), cp.Postgres.ConnectionString(cp.Database), "emo");
        var sent = await StreamCommand.SendAsync(target, endpoint, new ReadingsFile(csv), Batch, () => 0, (_, _) => { }, Ct);
        return (int)Math.Ceiling(sent / (double)Batch);
    }

    private async Task<List<AnomalyEpisode>> EpisodesAsync(string endpoint, Func<List<AnomalyEpisode>, bool> until)
    {
        using var viewer = cp.Client(Roles.Viewer, "victor");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var episodes = (await viewer.GetFromJsonAsync<List<AnomalyEpisode>>($"/api/alarms?endpoint={endpoint}", TestHost.Json, Ct))!;
            if (until(episodes) || clock.Elapsed > TimeSpan.FromSeconds(90)) return episodes;
            await Task.Delay(200, Ct);
        }
    }
}
