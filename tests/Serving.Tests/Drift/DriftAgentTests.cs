using System.Globalization;
using System.Net;
using System.Text.Json;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.Serving.Tests.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Wolverine;

namespace EventMlOps.Serving.Tests.Drift;

/// <summary>The drift agent end to end: the real control plane and agents, a real <c>emo-serve</c> the agent starts serving
/// the real anomaly model, real traffic from the generator the model was trained on, and the <see cref="DriftMeasured"/>
/// facts as the control plane records them.</summary>
public sealed class DriftAgentTests(TrainedModels models, ControlPlaneFixture cp) : IClassFixture<ControlPlaneFixture>, IAsyncLifetime
{
    /// <summary>The default window (500 samples) and Evidently's default tests, except the Wasserstein threshold, which a
    /// sensor model's policy raises to 0.2: a scored window is 30 consecutive, strongly correlated readings (and its error
    /// that of overlapping windows), so 500 of them hold far fewer independent values than they seem, and clean traffic
    /// measured up to 0.11 on channels and error alike (the default 0.1 drifted about one clean window in seven). One of three
    /// channels drifting is enough (share 0.3).</summary>
    private static readonly DriftPolicy Policy = new(
        Features: new Dictionary<string, DriftTest>
        {
            ["temperature"] = new(DriftMethod.Wasserstein, 0.2), ["vibration"] = new(DriftMethod.Wasserstein, 0.2), ["pressure"] = new(DriftMethod.Wasserstein, 0.2),
            // The test model (2 machines, 3 days, 2 epochs) scores noisily: its score's distance on clean windows reached 0.2.
            ["error"] = new(DriftMethod.Wasserstein, 0.3),
        },
        DriftShare: 0.3);
    private const int Steps = 30;
    private readonly string _home = TestHost.Folder("emo-drift-agents-");
    private IHost _agents = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _agents = await cp.StartAgentsAsync(_home, "--Agents:SamplesSecret=drift-test-secret",
        "--Agents:DriftPollMilliseconds=200", "--Serving:Arguments=--Serving:LogLevel=Warning --Serving:SamplesPerSecond=100000 --Serving:SamplesBuffer=100000");

    public async ValueTask DisposeAsync()
    {
        await _agents.StopAsync();
        _agents.Dispose();
        var runtime = LocalProcessRuntime.ForHome(_home, TimeSpan.FromSeconds(5));
        foreach (var job in await runtime.ListAsync(CancellationToken.None)) await runtime.DeleteAsync(job.Name, CancellationToken.None);
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task Given_an_anomaly_model_served_with_its_baseline_When_20_windows_of_training_like_traffic_and_then_a_half_std_shift_on_one_channel_arrive_Then_no_clean_window_drifts_and_a_shifted_one_does_within_two()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (version, artifact) = await lifecycle.VersionAsync(models.AnomalyPath);
        await lifecycle.RollOutAsync(version);
        var replica = (await lifecycle.ObservedAsync(e => e.Ready == true && e.Replicas is { Count: 1 }, seconds: 60)).Replicas!.Single();
        var baseline = await cp.Artifacts.PutAsync(models.AnomalyBaselinePath, Ct);
        // The control plane does not fill baselines into orders yet (#14): the order the agents would get, built here.
        await _agents.Services.GetRequiredService<IMessageBus>().InvokeAsync(new ApplyEndpoint(lifecycle.Endpoint, 1000,
            [new ServedVersion(lifecycle.Model, version, artifact.Uri, artifact.Sha256, 100, baseline)], 1, 1,
            Grant: cp.Grant($"endpoint:{lifecycle.Endpoint}"), Drift: Policy), Ct);
        using var client = new HttpClient { BaseAddress = new Uri(replica.Url!) };
        var (features, windows) = await WindowsAsync();
        var rng = new Random(7);
        var shiftBy = JsonDocument.Parse(await File.ReadAllTextAsync(models.AnomalyBaselinePath, Ct)).RootElement
            .GetProperty("inputs").GetProperty("vibration").GetProperty("std").GetDouble() * 0.5;
        var vibration = Array.IndexOf(features, "vibration");

        var clean = await MeasureAsync(lifecycle, client, 20, 20, () => windows[rng.Next(windows.Count)]);
        var shifted = await MeasureAsync(lifecycle, client, 2, 22, () =>
            [.. windows[rng.Next(windows.Count)].Select((v, i) => i % features.Length == vibration ? (float)(v + shiftBy) : v)]);

        clean.Count.ShouldBe(20);
        clean.ShouldAllBe(w => w.Samples == Policy.WindowSamples && w.ModelName == lifecycle.Model && w.Version == version);
        clean.ShouldAllBe(w => w.Features.Select(f => f.Feature).Order().SequenceEqual(new[] { "error", "pressure", "temperature", "vibration" }));
        clean.Where(Drifts).ShouldBeEmpty("traffic like the training data: " + Describe(clean.FirstOrDefault(Drifts)));
        clean.Select(w => w.WindowStart).Distinct().Count().ShouldBe(20);
        shifted.Skip(20).Any(Drifts).ShouldBeTrue("a half-std shift of vibration: " + Describe(shifted[^1]));
        shifted.Skip(20).Last().Features.Single(f => f.Feature == "vibration").ShouldSatisfyAllConditions(
            f => Test(f).Drifts(f.Score).ShouldBeTrue(), f => f.Role.ShouldBe(FeatureRole.Input));
    }

    /// <summary>Sends <paramref name="windows"/> drift windows' worth of scored windows to the replica's <c>/score</c> (each
    /// one sampled: the rate allows them all), then waits until the control plane recorded <paramref name="total"/> drift
    /// windows of the endpoint; returns them, oldest first.</summary>
    private async Task<List<EndpointDriftMeasured>> MeasureAsync(EndpointLifecycle lifecycle, HttpClient client, int windows, int total, Func<float[]> window)
    {
        const int batch = 100;
        for (var sent = 0; sent < windows * Policy.WindowSamples; sent += batch)
        {
            using var response = await client.PostAsync("score", new StringContent(JsonSerializer.Serialize(new { windows = Enumerable.Range(0, batch).Select(_ => window()) }),
                System.Text.Encoding.UTF8, "application/json"), Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        }
        for (var deadline = DateTimeOffset.UtcNow.AddSeconds(60); ; await Task.Delay(200, Ct))
        {
            var measured = await MeasuredAsync(lifecycle);
            if (measured.Count >= total) return measured;
            if (DateTimeOffset.UtcNow > deadline) throw new TimeoutException($"{measured.Count} of {total} drift windows were recorded");
        }
    }

    private async Task<List<EndpointDriftMeasured>> MeasuredAsync(EndpointLifecycle lifecycle)
    {
        await using var session = cp.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(StreamKeys.Endpoint(lifecycle.Endpoint), token: Ct);
        return [.. events.Select(e => e.Data).OfType<EndpointDriftMeasured>().OrderBy(w => w.WindowStart)];
    }

    /// <summary>The policy's rule, judged here on the scores the agent measured: a share of the inputs drifts, or any output.</summary>
    private static bool Drifts(EndpointDriftMeasured window)
    {
        var inputs = window.Features.Where(f => f.Role == FeatureRole.Input).ToList();
        return inputs.Count(f => Test(f).Drifts(f.Score)) >= Policy.DriftShare * inputs.Count
               || window.Features.Any(f => f.Role == FeatureRole.Output && Test(f).Drifts(f.Score));
    }

    private static DriftTest Test(FeatureJudgement f) =>
        Policy.Features?.GetValueOrDefault(f.Feature) ?? new(f.Method, DriftTest.IsPValue(f.Method) ? DriftPolicy.PValue : DriftPolicy.Distance);

    private static string Describe(EndpointDriftMeasured? window) => window is null ? "none" :
        string.Join(", ", window.Features.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Feature} {f.Method} {f.Score:G3}")));

    /// <summary>Every window of <see cref="Steps"/> consecutive readings of a machine (time-major, stride 1 as the trainer takes them) in the training part of its
    /// timeline (the trainer's default split), from the generator the model was trained on.</summary>
    private async Task<(string[] Features, List<float[]> Windows)> WindowsAsync()
    {
        var lines = await File.ReadAllLinesAsync(await models.SensorReadingsAsync(), Ct);
        var header = lines[0].Split(',');
        var features = header[2..^1];
        var windows = new List<float[]>();
        foreach (var machine in lines.Skip(1).Select(l => l.Split(',')).GroupBy(r => r[0]))
        {
            var rows = machine.Select(r => r[2..^1].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
            var train = (int)(rows.Count * EventMlOps.Contracts.Training.TrainerCatalog.BuiltIn.Shares["anomaly"]["train_fraction"]);
            for (var at = 0; at + Steps <= train; at++) windows.Add([.. rows.Skip(at).Take(Steps).SelectMany(r => r)]);
        }
        return (features, windows);
    }
}
