using System.Text.Json;
using EventMlOps.Cli.Audit;
using EventMlOps.Cli.Endpoints;
using EventMlOps.Cli.Lineage;
using EventMlOps.Cli.Registry;
using EventMlOps.Cli.Training;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Demo;

/// <summary>The recommender use case: data → v1 trained, approved under the four-eyes rule, rolled out to a serving
/// replica the rollout agent starts → client traffic → v2 as a canary judged on live metrics and promoted → a
/// deliberately slow v3 whose canary breaches and is rolled back automatically → the lineage of what serves, now and
/// before the promotion, and the rollouts' history.</summary>
public static class RecommenderDemo
{
    public const string Model = "recommender", Endpoint = "recommender";

    /// <summary>v3 answers this late: a rehearsal of a bad release (a fault the model carries; see emo-train's fault_* options).</summary>
    private const int SlowMs = 250;

    public static async Task RunAsync(DemoStage s, CancellationToken ct)
    {
        s.Step("alice (scientist) registers a dataset: MovieLens-shaped interactions the trainer generates, addressed by its spec");
        var spec = TrainCommand.GeneratorUri("recommender", s.Quick ? "users=300,items=200,interactions=20000" : "users=1000,items=800,interactions=100000", 42);
        var (dataset, _) = await TrainCommand.RegisterGeneratorAsync(s.Alice, "recommender", spec, ct);
        s.Say($"dataset {dataset}  {spec}");

        s.Step($"alice trains a first version of {Model} (NeuMF); the training agent runs the trainer and reports its progress");
        // Small batches: the trainer's default (8192) suits a million interactions, not the demo's 20,000–100,000.
        var epochs = s.Quick ? 3 : 4;
        var v1 = await s.TrainAsync(Model, "recommender", dataset, new() { ["epochs"] = epochs, ["lr"] = 0.002, ["batch_size"] = 512, ["seed"] = 1 }, ct);

        s.Step($"alice tries to approve {v1.Version} herself");
        try
        {
            await VersionsCommand.ApproveAsync(s.Alice, v1.Version, "my own work looks fine", ct);
            throw new CliError($"the four-eyes rule did not refuse alice's approval of her own {v1.Version}");
        }
        catch (ApiProblem refused) when (refused.Status == 422)
        {
            s.Say($"refused ({refused.Status} {refused.Title}): {refused.Detail}");
        }

        s.Step($"bob (approver) approves {v1.Version} and moves it to Production");
        await VersionsCommand.ApproveAsync(s.Bob, v1.Version, "offline HR@10 above the bar", ct);
        await VersionsCommand.StageAsync(s.Bob, v1.Version, ModelStage.Production, ct);
        s.Say($"{v1.Version}: approved by bob, stage Production");

        s.Step($"olivia (operator) puts {v1.Version} on endpoint '{Endpoint}' at once; the rollout agent starts a serving replica for it");
        await s.PrepareEndpointAsync(Endpoint, Model, ct);
        await EndpointsCommand.RollOutAsync(s.Olivia, Endpoint, v1.Version.Version, [], 0, null, ct);
        var (state, replica) = await s.ServingAsync(Endpoint, ct);
        var url = new Uri(replica.Url!);
        s.Say($"traffic: {EndpointsCommand.Traffic(state.Traffic)}; replica {replica.Name} ({replica.Runtime}) serves at {url} — loaded and verified by sha256");
        s.Say($"GET {url}recommend?user_id=7&k=5 → {await SampleAsync(url, ct)}");

        var rate = s.Quick ? 40 : 60;
        s.Step($"client traffic: the built-in load generator sends {rate} requests/s to /recommend from here on");
        await using var load = new LoadGenerator(url, rate, users: s.Quick ? 300 : 1000);
        s.Say("every answer is counted by the version that served it (X-Model-Version) with its latency");

        s.Step("alice trains a second version with other hyperparameters: a higher learning rate, larger batches, one more epoch");
        var v2 = await s.TrainAsync(Model, "recommender", dataset, new() { ["epochs"] = epochs + 1, ["lr"] = 0.004, ["batch_size"] = 1024, ["seed"] = 2 }, ct);
        await VersionsCommand.ApproveAsync(s.Bob, v2.Version, "HR@10 well above popularity", ct);
        await VersionsCommand.StageAsync(s.Bob, v2.Version, ModelStage.Staging, ct);
        s.Say($"bob approves {v2.Version} and moves it to Staging");

        var bake = s.Quick ? 4 : 10;
        var analysis = new RolloutAnalysis(IntervalSeconds: s.Quick ? 1 : 2, MinRequests: 20, MaxErrorRate: 0.01, MaxP95Ratio: 3);
        s.Step($"olivia starts a canary of {v2.Version}: 10 % → 50 %, {bake} s bake per step; the rollout agent measures it every "
            + $"{analysis.IntervalSeconds} s, the control plane judges (≥ {analysis.MinRequests} requests; errors ≤ {analysis.MaxErrorRate:P0}; "
            + $"p95 ≤ {analysis.MaxP95Ratio} × stable's)");
        await EndpointsCommand.RollOutAsync(s.Olivia, Endpoint, v2.Version.Version, [10, 50], bake, null, ct, analysis);
        var canary = await s.EndpointAsync(Endpoint, ct);
        s.Say($"traffic: {EndpointsCommand.Traffic(canary.Traffic)}");
        var beforePromotion = await LatestSequenceAsync(s.Olivia, ct);
        s.Say($"(the store is at event sequence {beforePromotion}: remember it for time travel)");
        var promoted = await s.FollowCanaryAsync(Endpoint, canary.Rollout!.RolloutId, ct);
        if (promoted.Outcome != "promoted")
            throw new CliError($"the canary of {v2.Version} was {promoted.Outcome}, not promoted: {promoted.Reason}");
        await VersionsCommand.StageAsync(s.Bob, v2.Version, ModelStage.Production, ct);
        s.Say($"promoted by {promoted.By} after {(promoted.EndedAt - promoted.StartedAt).TotalSeconds:0} s; traffic: "
            + $"{EndpointsCommand.Traffic((await s.EndpointAsync(Endpoint, ct)).Traffic)}; bob moves {v2.Version} to Production");

        s.Step($"a deliberately bad release: alice trains a third version that answers {SlowMs} ms late (fault_latency_ms, carried in the model), bob approves it");
        var v3 = await s.TrainAsync(Model, "recommender", dataset,
            new() { ["epochs"] = 2, ["lr"] = 0.004, ["batch_size"] = 1024, ["seed"] = 3, ["fault_latency_ms"] = SlowMs }, ct);
        await VersionsCommand.ApproveAsync(s.Bob, v3.Version, "offline metrics fine (its latency is not measured offline)", ct);

        s.Step($"olivia starts a canary of {v3.Version} at 20 % with a 60 s bake; the analysis should catch it long before");
        await EndpointsCommand.RollOutAsync(s.Olivia, Endpoint, v3.Version.Version, [20], 60, null, ct, analysis);
        var bad = await s.EndpointAsync(Endpoint, ct);
        var rolledBack = await s.FollowCanaryAsync(Endpoint, bad.Rollout!.RolloutId, ct);
        if (rolledBack.Outcome != "rolled back")
            throw new CliError($"the slow canary of {v3.Version} was {rolledBack.Outcome}, not rolled back automatically");
        var after = await s.ServingAsync(Endpoint, ct);
        s.Say($"rolled back automatically by {rolledBack.By} {(rolledBack.EndedAt - rolledBack.StartedAt).TotalSeconds:0} s after it started: "
            + $"{rolledBack.Reason}; traffic: {EndpointsCommand.Traffic(after.State.Traffic)}");

        s.Step("what the clients saw, by serving version");
        await load.DisposeAsync();
        var byVersion = load.ByVersion();
        var table = new Table("version", "answers", "p50", "p95", "p99");
        foreach (var v in byVersion) table.Row(v.Version, v.Requests, Ms(v.P50Ms), Ms(v.P95Ms), Ms(v.P99Ms));
        table.WriteTo(s.Out, indent: "    ");
        s.Say(load.Failed == 0
            ? $"failed requests: 0 of {byVersion.Sum(v => v.Requests)} — both rollouts happened under traffic without a failed request"
            : $"failed requests: {load.Failed} ({string.Join("; ", load.Failures.Select(f => $"{f.Value}× {f.Key}"))})");

        s.Step($"lineage of endpoint '{Endpoint}' now: what serves, trained on what, approved by whom");
        LineageTree.Write(s.Out, await s.Olivia.GetAsync<EndpointLineage>(LineageCommand.EndpointPath(Endpoint, null), ct));

        s.Step($"lineage of endpoint '{Endpoint}' as of event sequence {beforePromotion}, before the promotion");
        LineageTree.Write(s.Out, await s.Olivia.GetAsync<EndpointLineage>(LineageCommand.EndpointPath(Endpoint, beforePromotion.ToString()), ct));

        s.Step($"the rollouts in endpoint '{Endpoint}''s history (its event stream; analysis records left out)");
        var history = await s.Olivia.GetAsync<List<AuditEntry>>(
            AuditCommand.Path(stream: StreamKeys.Endpoint(Endpoint), since: s.StartedAt.ToString("O"), limit: 1000), ct);
        AuditView.Table(s.Out, history.Where(e => e.Type is not ("rollout_analysis_recorded" or "endpoint_state_observed")), wide: true); // correlations tie the steps

        var runs = new[] { v1, v2, v3 };
        var outcomes = (await s.EndpointAsync(Endpoint, ct)).Rollouts;
        foreach (var (version, run) in runs)
        {
            var rollout = outcomes.LastOrDefault(o => o.Version == version.Version);
            var served = byVersion.FirstOrDefault(b => b.Version == version.ToString());
            s.Summary.Add(new SummaryRow("recommender", version.ToString(), Fmt.Numbers(run.Hyperparameters),
                $"hr@10 {Fmt.Number(run.Metrics!["hr@10"])} (popularity {Fmt.Number(run.Metrics["baseline_hr@10"])})",
                rollout is null ? "-" : $"{rollout.Kind.ToString().ToLowerInvariant()}: {rollout.Outcome}",
                served is null ? "-" : $"{served.Requests} answers, p95 {Ms(served.P95Ms)}"));
        }
    }

    private static async Task<string> SampleAsync(Uri replica, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = replica, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync("recommend?user_id=7&k=5", ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new CliError($"the replica answered {(int)response.StatusCode}: {body}");
        var items = JsonDocument.Parse(body).RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("itemId").ToString());
        return $"items [{string.Join(", ", items)}] from {response.Headers.GetValues("X-Model-Version").Single()}";
    }

    private static string Ms(double ms) => $"{ms:0.0} ms";

    private static async Task<long> LatestSequenceAsync(ApiClient api, CancellationToken ct) =>
        (await api.GetAsync<List<AuditEntry>>(AuditCommand.Path(correlation: api.CorrelationId, limit: 1), ct)).Single().Sequence;
}
