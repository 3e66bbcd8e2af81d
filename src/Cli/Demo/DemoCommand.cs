using System.CommandLine;
using System.Diagnostics;
using EventMlOps.Cli.Audit;
using EventMlOps.Cli.Endpoints;
using EventMlOps.Cli.Hosting;
using EventMlOps.Cli.Lineage;
using EventMlOps.Cli.Registry;
using EventMlOps.Cli.Training;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Audit;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Lineage;
using EventMlOps.ControlPlane.Training;

namespace EventMlOps.Cli.Demo;

/// <summary><c>emo demo</c>: the model lifecycle end to end against a running (or auto-started) control plane,
/// played by four principals — alice (scientist, also an approver), bob (approver), the training agent, and
/// olivia (operator) — with every step narrated, and the proof at the end: lineage now and before the promotion,
/// and the audit trail of the whole scenario under one correlation id.</summary>
public static class DemoCommand
{
    private const string Model = "recommender";
    private const string Endpoint = "recommender";

    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Smaller data and fewer epochs (for CI)" };
        var command = new Command("demo", "Run the lifecycle scenario: dataset → real training → four-eyes approval → rollout → canary → lineage and audit")
        {
            quick,
        };
        command.SetAction((parse, ct) => RunAsync(CliContext.From(parse), parse.GetValue(quick), ct));
        return command;
    }

    private static async Task<int> RunAsync(CliContext ctx, bool quick, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var w = ctx.Out;
        var url = await ControlPlaneAsync(ctx, ct);
        var tokens = ctx.Tokens;
        ApiClient As(string name, params string[] roles) => new(url, tokens.Issue(name, roles, TimeSpan.FromHours(1)), ctx.CorrelationId);
        using var alice = As("alice", Roles.Scientist, Roles.Approver);
        using var bob = As("bob", Roles.Approver);
        using var olivia = As("olivia", Roles.Operator);
        var step = 0;
        void Step(string text) { w.WriteLine(); w.WriteLine($"[{++step}] {text}"); }
        void Say(string text) => w.WriteLine($"    {text}");

        w.WriteLine("EventMlOps demo — the model lifecycle as events");
        w.WriteLine($"control plane {url.ToString().TrimEnd('/')}; every event below carries correlation id {ctx.CorrelationId}");

        Step("alice (scientist) registers a dataset: MovieLens-shaped interactions the trainer generates, addressed by its spec");
        var spec = TrainCommand.GeneratorUri("recommender", quick ? "users=300,items=200,interactions=20000" : "users=1000,items=800,interactions=100000", 42);
        var (dataset, _) = await TrainCommand.RegisterGeneratorAsync(alice, "recommender", spec, ct);
        Say($"dataset {dataset}  {spec}");

        Step($"alice trains {Model} (NeuMF); the training agent runs the trainer and reports its progress");
        // Small batches: the trainer's default (8192) suits a million interactions, not the demo's 20,000–100,000.
        var epochs = quick ? 3 : 4;
        var v1 = await TrainAsync(alice, dataset, new() { ["epochs"] = epochs, ["lr"] = 0.002, ["batch_size"] = 512, ["seed"] = 1 }, Say, ct);

        Step($"alice tries to approve {v1} herself");
        try
        {
            await VersionsCommand.ApproveAsync(alice, v1, "my own work looks fine", ct);
            throw new CliError($"the four-eyes rule did not refuse alice's approval of her own {v1}");
        }
        catch (ApiProblem refused) when (refused.Status == 422)
        {
            Say($"refused ({refused.Status} {refused.Title}): {refused.Detail}");
        }

        Step($"bob (approver) approves {v1} and moves it to Production");
        await VersionsCommand.ApproveAsync(bob, v1, "offline HR@10 above the bar", ct);
        await VersionsCommand.StageAsync(bob, v1, ModelStage.Production, ct);
        Say($"{v1}: approved by bob, stage Production");

        Step($"olivia (operator) puts {v1} on endpoint '{Endpoint}' immediately");
        await PrepareEndpointAsync(olivia, Say, ct);
        await EndpointsCommand.RollOutAsync(olivia, Endpoint, v1.Version, [], 0, null, ct);
        Say($"traffic: {await TrafficAsync(olivia, ct)}");

        Step($"alice trains a second version: a higher learning rate, one more epoch");
        var v2 = await TrainAsync(alice, dataset, new() { ["epochs"] = epochs + 1, ["lr"] = 0.004, ["batch_size"] = 1024, ["seed"] = 2 }, Say, ct);
        await VersionsCommand.ApproveAsync(bob, v2, "better HR@10 and NDCG@10", ct);
        await VersionsCommand.StageAsync(bob, v2, ModelStage.Staging, ct);
        Say($"bob approves {v2} and moves it to Staging");

        Step($"olivia starts a canary of {v2}: 10% → 50%, 30 s bake per step");
        await EndpointsCommand.RollOutAsync(olivia, Endpoint, v2.Version, [10, 50], 30, null, ct);
        Say($"traffic: {await TrafficAsync(olivia, ct)}");
        var beforePromotion = await LatestSequenceAsync(olivia, ct);
        Say($"(the store is at event sequence {beforePromotion}: remember it for time travel)");

        Step($"olivia promotes the canary; bob moves {v2} to Production");
        await EndpointsCommand.PromoteAsync(olivia, Endpoint, ct);
        await VersionsCommand.StageAsync(bob, v2, ModelStage.Production, ct);
        Say($"traffic: {await TrafficAsync(olivia, ct)}");

        Step($"lineage of endpoint '{Endpoint}' now");
        LineageTree.Write(w, await olivia.GetAsync<EndpointLineage>(LineageCommand.EndpointPath(Endpoint, null), ct));

        Step($"lineage of endpoint '{Endpoint}' as of event sequence {beforePromotion}, before the promotion");
        LineageTree.Write(w, await olivia.GetAsync<EndpointLineage>(LineageCommand.EndpointPath(Endpoint, beforePromotion.ToString()), ct));

        Step($"audit trail of this demo (correlation {ctx.CorrelationId}), newest first");
        AuditView.Table(w, await olivia.GetAsync<List<AuditEntry>>(AuditCommand.Path(correlation: ctx.CorrelationId, limit: 500), ct));

        w.WriteLine();
        w.WriteLine($"demo done in {clock.Elapsed.TotalSeconds:0.0} s. Explore: ./emo lineage {v2} · ./emo endpoints show {Endpoint} · "
            + $"./emo audit --correlation {ctx.CorrelationId} · ./emo events tail");
        return 0;
    }

    /// <summary>An explicitly given control plane must already run; otherwise the local one is started when needed.</summary>
    private static async Task<Uri> ControlPlaneAsync(CliContext ctx, CancellationToken ct)
    {
        if (ctx.UrlIsExplicit)
        {
            var url = ctx.FindUrl()!;
            return await ApiClient.IsReadyAsync(url, ct) ? url : throw new CliError($"the control plane at {url} is not ready");
        }
        return await UpCommand.EnsureRunningAsync(ctx, null, TimeSpan.FromSeconds(180), ct);
    }

    /// <summary>One real training run: requested by the scientist, run by the training agent, registered by the
    /// registration policy (its quality gate compares HR@10 with the popularity baseline).</summary>
    private static async Task<ModelRef> TrainAsync(ApiClient scientist, Guid dataset, Dictionary<string, double> hyperparameters,
        Action<string> say, CancellationToken ct)
    {
        var request = new RequestTraining(Guid.NewGuid(), Guid.NewGuid(), Model, "recommender", dataset, hyperparameters,
            new TrainingResources(Cpus: 2, MemoryMb: 2048, Gpus: 0), "demo");
        await scientist.SendAsync("/api/runs", request, ct);
        say($"run {request.RunId} requested ({Fmt.Numbers(hyperparameters)})");
        var shown = -1;
        var waiting = Stopwatch.StartNew();
        var run = await TrainCommand.WaitForOutcomeAsync(scientist, request.RunId, r =>
        {
            if (r.Status == RunStatus.Requested && waiting.Elapsed > TimeSpan.FromSeconds(60))
                throw new CliError($"no training agent picked run {request.RunId} up within 60 s; is the control plane running with its agents (./emo up)?");
            if (r.Epochs == shown || r.Status == RunStatus.Requested) return;
            shown = r.Epochs;
            say(r.Epochs == 0 ? $"agent: job {r.JobName} started" : $"agent: epoch {r.Epochs}/{hyperparameters["epochs"]}  {Fmt.Headline(r.Metrics)}");
        }, ct);
        if (run.Status != RunStatus.Succeeded)
            throw new CliError($"run {run.RunId} {run.Status.ToString().ToLowerInvariant()}: {run.FailureReason}");
        var m = run.Metrics!;
        say($"agent: succeeded in {Fmt.Seconds(run.DurationSeconds)}; hr@10 {Fmt.Number(m["hr@10"])} vs popularity baseline {Fmt.Number(m["baseline_hr@10"])}, "
            + $"ndcg@10 {Fmt.Number(m["ndcg@10"])}; ONNX model sha256 {Fmt.ShortSha(run.ArtifactSha256)} (verified against the torch forward pass)");
        return run.RegisteredVersion is { } v
            ? Registered(new ModelRef(Model, v), say)
            : throw new CliError($"the registration policy did not register run {run.RunId}: {run.RegistrationBlocked ?? "no decision within 10 s"}");

        static ModelRef Registered(ModelRef version, Action<string> say)
        {
            say($"the registration policy registered the run as {version} (it beats the popularity baseline)");
            return version;
        }
    }

    /// <summary>Reruns reuse the endpoint an earlier demo created; a rollout an interrupted demo left behind is aborted.</summary>
    private static async Task PrepareEndpointAsync(ApiClient operatorApi, Action<string> say, CancellationToken ct)
    {
        try
        {
            var existing = await operatorApi.GetAsync<EndpointState>($"/api/endpoints/{Endpoint}", ct);
            say($"endpoint '{Endpoint}' exists from an earlier run (serving {EndpointsCommand.Traffic(existing.Traffic)}): reusing it");
            if (existing.Rollout is not null)
                await operatorApi.SendAsync("/api/endpoints/abort", new AbortRollout(Guid.NewGuid(), Endpoint, "left over by an interrupted demo"), ct);
        }
        catch (ApiProblem missing) when (missing.Status == 404)
        {
            await EndpointsCommand.CreateAsync(operatorApi, Endpoint, Model, 1, 3, ct);
            say($"created endpoint '{Endpoint}' for model {Model} (1..3 replicas)");
        }
    }

    private static async Task<string> TrafficAsync(ApiClient api, CancellationToken ct) =>
        EndpointsCommand.Traffic((await api.GetAsync<EndpointState>($"/api/endpoints/{Endpoint}", ct)).Traffic);

    private static async Task<long> LatestSequenceAsync(ApiClient api, CancellationToken ct) =>
        (await api.GetAsync<List<AuditEntry>>(AuditCommand.Path(correlation: api.CorrelationId, limit: 1), ct)).Single().Sequence;
}
