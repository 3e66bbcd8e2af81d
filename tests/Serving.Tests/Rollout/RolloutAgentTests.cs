using System.Net;
using System.Text.Json;
using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Rollout;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;
using EventMlOps.Cli.Demo;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.Hosting;
using EventMlOps.Models;
using EventMlOps.Serving.Tests.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventMlOps.Serving.Tests.Rollout;

/// <summary>The rollout agent end to end: the real control plane and agents, real <c>emo-serve</c> processes the agent
/// starts on the local runtime, real trained models, and real client traffic from the demo's load generator. Alone in
/// the timing collection: the canary verdicts rest on latencies.</summary>
[Collection(Timing.Name)]
public sealed class RolloutAgentTests(TrainedModels models, ControlPlaneFixture cp) : IClassFixture<ControlPlaneFixture>, IAsyncLifetime
{
    /// <summary>Measured every second. The p95 of a few dozen requests to a healthy version on two cores shared with the
    /// control plane, the agents and the load can reach tens of milliseconds (one slow request is the p95 of ten: it
    /// failed a good canary once under p95 ≤ 3 × stable); the 300 ms version breaches these limits by far all the same.</summary>
    private static readonly RolloutAnalysis Fast = new(IntervalSeconds: 1, MinRequests: 30, MaxErrorRate: 0.01, MaxP95Ms: 100, MaxP95Ratio: 10);
    private readonly string _home = TestHost.Folder("emo-rollout-agents-");
    private IHost _agents = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _agents = await cp.StartAgentsAsync(_home);

    public async ValueTask DisposeAsync()
    {
        await _agents.StopAsync();
        _agents.Dispose();
        // Replicas outlive the agents that started them.
        var runtime = LocalProcessRuntime.ForHome(_home, TimeSpan.FromSeconds(5));
        foreach (var job in await runtime.ListAsync(CancellationToken.None)) await runtime.DeleteAsync(job.Name, CancellationToken.None);
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task Given_v1_served_by_a_replica_the_agent_started_When_a_good_canary_and_then_a_slow_one_roll_out_under_load_Then_the_good_one_is_promoted_without_a_failed_request_and_the_slow_one_is_rolled_back_at_the_first_judgeable_analysis()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (v1, _) = await lifecycle.VersionAsync(models.RecommenderPath);
        var (v2, _) = await lifecycle.VersionAsync(models.RecommenderV2Path);
        var slow = models.WithFaults(TrainedModels.Rec, 3, models.RecommenderPath, new InjectedFaults(LatencyMs: 300, ErrorRate: 0));
        var (v3, _) = await lifecycle.VersionAsync(new Uri(slow.ArtifactUri).LocalPath);

        await lifecycle.RollOutAsync(v1);
        var replica = (await lifecycle.ObservedAsync(e => e.Ready == true && e.Replicas is { Count: 1 }, seconds: 60)).Replicas!.Single();
        (replica.Name, replica.LastChange, replica.Runtime, replica.Restarts).ShouldBe(($"serve-{lifecycle.Endpoint}", ReplicaChange.Started, "local", 0));
        await using var load = new LoadGenerator(new Uri(replica.Url!), perSecond: 60, users: 300);

        await lifecycle.RollOutAsync(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(20, 2), new CanaryStep(50, 2)], Fast));
        var promoted = await lifecycle.ObservedAsync(e => e.Rollouts.Count == 2, seconds: 90);

        promoted.Rollouts[^1].ShouldSatisfyAllConditions(
            o => o.Version.ShouldBe(v2), o => o.Outcome.ShouldBe("promoted"), o => o.By.ShouldBe("emo-agents", "the analysis promoted it"));
        var good = await AnalysisAsync(lifecycle, promoted.Rollouts[^1].RolloutId);
        good.Where(a => a.Verdict == "healthy").Select(a => a.Step).ShouldBe([0, 1], "one healthy verdict ends each baked step");
        good.ShouldNotContain(a => a.Verdict == "breach");
        good.ShouldAllBe(a => a.Stable.Requests > 0, "the stable version is measured beside the canary");
        load.ByVersion().Select(v => v.Version).ShouldBe([$"{lifecycle.Model}@1", $"{lifecycle.Model}@2"]);
        load.Failures.ShouldBeEmpty();

        await lifecycle.RollOutAsync(v3, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(20, 60)], Fast));
        var rolledBack = await lifecycle.ObservedAsync(e => e.Rollouts.Count == 3, seconds: 60);

        var outcome = rolledBack.Rollouts[^1];
        (outcome.Version, outcome.Outcome, outcome.By).ShouldBe((v3, "rolled back", "emo-agents"));
        outcome.Reason!.ShouldContain("p95");
        (outcome.EndedAt - outcome.StartedAt).ShouldBeLessThan(TimeSpan.FromSeconds(30), "well before the 60 s bake");
        rolledBack.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(v2, 100)]);
        rolledBack.ObservedLoaded!.Select(l => (l.Version, l.Weight)).ShouldBe([(v2, 100)], "the replica serves v2 alone again");
        var bad = await AnalysisAsync(lifecycle, outcome.RolloutId);
        bad[^1].Verdict.ShouldBe("breach");
        bad[..^1].ShouldAllBe(a => a.Verdict == "too_few_samples", "the first measurement with enough samples breached");
        bad[^1].Canary.P95Ms.ShouldBeGreaterThan(250);
        load.Failures.ShouldBeEmpty("a slow version is slow, not failing");
        load.ByVersion().Single(v => v.Version == $"{lifecycle.Model}@3").P95Ms.ShouldBeGreaterThanOrEqualTo(300);
    }

    [Fact]
    public async Task Given_a_replica_When_its_server_is_killed_the_agent_restarts_and_the_endpoint_is_deleted_Then_it_is_restarted_on_its_url_with_the_fact_recorded_re_adopted_with_its_canary_and_stopped()
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (v1, _) = await lifecycle.VersionAsync(models.RecommenderPath);
        var (v2, _) = await lifecycle.VersionAsync(models.RecommenderV2Path);
        await lifecycle.RollOutAsync(v1);
        var started = (await lifecycle.ObservedAsync(e => e.Ready == true && e.Replicas is { Count: 1 }, seconds: 60)).Replicas!.Single();
        using var client = new HttpClient { BaseAddress = new Uri(started.Url!) };

        Kill(ServerOf(started.Name));
        var restarted = (await WaitAsync(lifecycle, e => e.Replicas![0].Restarts == 1)).Replicas!.Single();
        await ReadyAsync(client);

        (restarted.LastChange, restarted.LastExitCode, restarted.Url).ShouldBe((ReplicaChange.Restarted, 137, started.Url));
        restarted.LastReason!.ShouldContain("exited with code 137");
        (await client.GetAsync($"recommend?user_id=1", Ct)).Headers.GetValues("X-Model-Version").ShouldBe([$"{lifecycle.Model}@{v1}"]);

        // A canary whose step outlasts the agents: the next agents pick its analysis up from the control plane.
        await using (new LoadGenerator(client.BaseAddress, perSecond: 40, users: 300))
        {
            await lifecycle.RollOutAsync(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(50, 4)], Fast));
            await lifecycle.ObservedAsync(e => e.RecentAnalysis is { Count: > 0 }, seconds: 30);
            await _agents.StopAsync(Ct);
            _agents.Dispose();
            (await client.GetAsync("health/live", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, "the replica outlives its agent");
            var newAgents = DateTimeOffset.UtcNow;
            _agents = await cp.StartAgentsAsync(_home);
            var promoted = await lifecycle.ObservedAsync(e => e.Rollouts.Count == 2, seconds: 60);
            promoted.Rollouts[^1].Outcome.ShouldBe("promoted");
            (await AnalysisAsync(lifecycle, promoted.Rollouts[^1].RolloutId)).ShouldContain(a => a.ObservedAt > newAgents && a.Verdict == "healthy",
                "the new agents measured the step that the old ones began");
        }
        var adopted = (await lifecycle.StateAsync()).Replicas!.Single();
        (adopted.Restarts, adopted.Url).ShouldBe((1, started.Url), "re-adopted, not restarted");

        // `emo down`: the agents stop, then their replicas; the next agents bring them back on their URLs.
        await _agents.StopAsync(Ct);
        _agents.Dispose();
        // (Other tests' endpoints on this control plane may have replicas here too: these agents serve every endpoint.)
        (await LocalServingRuntime.StopAllAsync(LocalProcessRuntime.ForHome(_home, TimeSpan.FromSeconds(5)), Ct)).ShouldContain(started.Name);
        await Should.ThrowAsync<HttpRequestException>(() => client.GetAsync("health/live", Ct));
        _agents = await cp.StartAgentsAsync(_home);
        var back = (await WaitAsync(lifecycle, e => e.Replicas![0].Restarts == 2)).Replicas!.Single();
        (back.Url, back.LastReason).ShouldBe((started.Url, "was stopped while its agent was away (emo down)"));
        await ReadyAsync(client);

        await lifecycle.DeleteAsync("retired");
        var deleted = await WaitAsync(lifecycle, e => e.Replicas![0].LastChange == ReplicaChange.Stopped);

        deleted.Replicas!.Single().LastReason.ShouldBe("the endpoint was deleted");
        await Should.ThrowAsync<HttpRequestException>(() => client.GetAsync("health/live", Ct));
        (await LocalProcessRuntime.ForHome(_home, TimeSpan.FromSeconds(5)).ObserveAsync(started.Name, Ct)).Phase.ShouldNotBe(JobPhase.Running);

        // The deletion's revision is kept on the replica's record: agents started afresh still ignore an order from before
        // it (a retry, or a late delivery) instead of bringing the deleted endpoint's replica back.
        await _agents.StopAsync(Ct);
        _agents.Dispose();
        _agents = await cp.StartAgentsAsync(_home);
        var serving = _agents.Services.GetRequiredService<IServingRuntime>();
        var observed = (await serving.ObserveAsync(lifecycle.Endpoint, Ct)).ShouldNotBeNull();
        (observed.Deleted, observed.AppliedRevision).ShouldBe((true, deleted.Revision));
        var stale = new ApplyEndpoint(lifecycle.Endpoint, deleted.Revision - 1,
            [new ServedVersion(lifecycle.Model, v1, new Uri(models.RecommenderPath).AbsoluteUri, new string('0', 64), 100)], 1, 1);

        (await ApplyEndpointHandler.Handle(stale, serving, _agents.Services.GetRequiredService<CanaryAnalyzer>(),
            _agents.Services.GetRequiredService<Agents.Drift.DriftAgent>(), _agents.Services.GetRequiredService<WorkGrants>(), NullLogger<ApplyEndpoint>.Instance, Ct)).ShouldBeEmpty();
        (await serving.ObserveAsync(lifecycle.Endpoint, Ct))!.Replicas.ShouldBeEmpty("the stale order started nothing");
        await Should.ThrowAsync<HttpRequestException>(() => client.GetAsync("health/live", Ct));
    }

    /// <summary>The analysis records of one rollout, oldest first, from the endpoint's events.</summary>
    private async Task<RolloutAnalysisRecorded[]> AnalysisAsync(EndpointLifecycle lifecycle, Guid rolloutId)
    {
        await using var session = cp.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(StreamKeys.Endpoint(lifecycle.Endpoint), token: Ct);
        return [.. events.Select(e => e.Data).OfType<RolloutAnalysisRecorded>().Where(a => a.RolloutId == rolloutId)];
    }

    private static async Task<EndpointView> WaitAsync(EndpointLifecycle lifecycle, Func<EndpointView, bool> until)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(100, Ct))
        {
            var state = await lifecycle.StateAsync();
            if (until(state)) return state;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{lifecycle.Endpoint} did not get there: {JsonSerializer.Serialize(state)}");
        }
    }

    private static async Task ReadyAsync(HttpClient replica)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(100, Ct))
        {
            try
            {
                if ((await replica.GetAsync("health/ready", Ct)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{replica.BaseAddress} is not ready");
        }
    }

    /// <summary>The model server under the replica's job wrapper (the wrapper's pid is in the job's record).</summary>
    private int ServerOf(string replica)
    {
        var record = Path.Combine(LocalProcessRuntime.ForHome(_home, TimeSpan.Zero).JobFolder(replica), LocalProcessRuntime.JobFile);
        var wrapper = JsonDocument.Parse(File.ReadAllText(record)).RootElement.GetProperty("pid").GetInt32();
        return int.Parse(File.ReadAllText($"/proc/{wrapper}/task/{wrapper}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Single());
    }

    private static void Kill(int pid) => System.Diagnostics.Process.GetProcessById(pid).Kill();
}
