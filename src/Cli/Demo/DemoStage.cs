using System.Diagnostics;
using EventMlOps.Cli.Endpoints;
using EventMlOps.Cli.Registry;
using EventMlOps.Cli.Training;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Demo;

/// <summary>One row of the demo's closing table.</summary>
public sealed record SummaryRow(string UseCase, string Version, string TrainedWith, string Quality, string Rollout, string Served);

/// <summary>What both parts of the demo share: the narration, the cast — alice (scientist, also an approver), bob
/// (approver), olivia (operator) — the size, the rows of the closing summary, and the steps both use cases take:
/// a real training run, an endpoint, waiting for its serving replica, following a rollout's analysis.</summary>
public sealed class DemoStage(TextWriter w, ApiClient alice, ApiClient bob, ApiClient olivia, ApiClient paula, bool quick)
{
    private int _step;

    public TextWriter Out => w;
    public ApiClient Alice => alice;
    public ApiClient Bob => bob;
    public ApiClient Olivia => olivia;
    public ApiClient Paula => paula;
    public bool Quick => quick;
    public List<SummaryRow> Summary { get; } = [];
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public void Step(string text)
    {
        w.WriteLine();
        w.WriteLine($"[{++_step}] {text}");
    }

    public void Say(string text) => w.WriteLine($"    {text}");

    /// <summary>One real training run: requested by alice, run by the training agent (progress bar), registered by the
    /// registration policy's quality gate.</summary>
    public async Task<(ModelRef Version, TrainingRunView Run)> TrainAsync(string model, string trainer, Guid dataset,
        Dictionary<string, double> hyperparameters, CancellationToken ct)
    {
        var request = new RequestTraining(Guid.NewGuid(), Guid.NewGuid(), model, trainer, dataset, hyperparameters,
            new TrainingResources(Cpus: 2, MemoryMb: 2048, Gpus: 0), "demo");
        await alice.SendAsync("/api/runs", request, ct);
        Say($"run {request.RunId} requested ({Fmt.Numbers(hyperparameters)})");
        var progress = new TrainingProgress(w, TrainingProgress.IsTerminal(w), "    ");
        var waiting = Stopwatch.StartNew();
        var run = await TrainCommand.WaitForOutcomeAsync(alice, request.RunId, r =>
        {
            if (r.Status == RunStatus.Requested && waiting.Elapsed > TimeSpan.FromSeconds(60))
                throw new CliError($"no training agent picked run {request.RunId} up within 60 s; is the control plane running with its agents (./emo up)?");
            progress.Draw(r, hyperparameters);
        }, ct);
        progress.Done();
        if (run.Status != RunStatus.Succeeded)
            throw new CliError($"run {run.RunId} {run.Status.ToString().ToLowerInvariant()}: {run.FailureReason}");
        Say($"agent: succeeded in {Fmt.Seconds(run.DurationSeconds)}; {Fmt.Headline(run.Metrics)}; ONNX model sha256 {Fmt.ShortSha(run.ArtifactSha256)} "
            + "(verified against the torch forward pass)");
        if (run.RegisteredVersion is not { } v)
            throw new CliError($"the registration policy did not register run {run.RunId}: {run.RegistrationBlocked ?? "no decision within 10 s"}");
        var version = new ModelRef(model, v);
        Say($"the registration policy registered the run as {version} (it passed the quality gate)");
        return (version, run);
    }

    /// <summary>Reruns reuse the endpoint an earlier demo created (or deleted); a rollout an interrupted demo left
    /// behind is aborted.</summary>
    public async Task PrepareEndpointAsync(string endpoint, string model, CancellationToken ct)
    {
        try
        {
            var existing = await olivia.GetAsync<EndpointView>($"/api/endpoints/{endpoint}", ct);
            if (!existing.Deleted)
            {
                Say($"endpoint '{endpoint}' exists from an earlier run (serving {EndpointsCommand.Traffic(existing.Traffic)}): reusing it");
                if (existing.Rollout is not null)
                    await olivia.SendAsync("/api/endpoints/abort", new AbortRollout(Guid.NewGuid(), endpoint, "left over by an interrupted demo"), ct);
                return;
            }
        }
        catch (ApiProblem missing) when (missing.Status == 404)
        {
        }
        await EndpointsCommand.CreateAsync(olivia, endpoint, model, 1, 3, ct);
        Say($"created endpoint '{endpoint}' for model {model} (1..3 replicas; one local replica)");
    }

    public async Task<EndpointView> EndpointAsync(string endpoint, CancellationToken ct) =>
        await olivia.GetAsync<EndpointView>($"/api/endpoints/{endpoint}", ct);

    /// <summary>Waits until the endpoint's replica (started by the rollout agent) reported that it serves the current
    /// desired state in full; returns where it answers.</summary>
    public async Task<(EndpointView State, ReplicaState Replica)> ServingAsync(string endpoint, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var state = await EndpointAsync(endpoint, ct);
            // Only a replica that started answers: a stopped or waiting one may still show where it answered before.
            var replica = state.Replicas?.FirstOrDefault(r => r.LastChange is ReplicaChange.Started or ReplicaChange.Restarted && r.Url is not null);
            if (replica is not null && state.Ready == true && state.ObservedRevision == state.Revision) return (state, replica);
            if (clock.Elapsed > TimeSpan.FromSeconds(120))
                throw new CliError($"endpoint '{endpoint}' is not served after 120 s: replica {replica?.Name ?? Waiting(state) ?? "(none started)"}, observed revision "
                    + $"{state.ObservedRevision} of {state.Revision}, ready {state.Ready?.ToString() ?? "unknown"}: {state.ObservedMessage}");
            await Task.Delay(250, ct);
        }
    }

    private static string? Waiting(EndpointView state) =>
        state.Replicas?.FirstOrDefault(r => r.LastChange == ReplicaChange.Waiting) is { } w ? $"{w.Name} waiting ({w.LastReason})" : null;

    /// <summary>Narrates a canary until it ends — every analysis the control plane recorded (the agent's measurement and
    /// the verdict), every step — and returns how it ended.</summary>
    public async Task<RolloutOutcome> FollowCanaryAsync(string endpoint, Guid rolloutId, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var seen = new HashSet<DateTimeOffset>();
        var step = 0;
        while (true)
        {
            var state = await EndpointAsync(endpoint, ct);
            foreach (var a in (state.RecentAnalysis ?? []).Where(a => a.RolloutId == rolloutId && seen.Add(a.ObservedAt)))
                Say($"analysis, step {a.Step + 1}: canary {Load(a.Canary)} | stable {Load(a.Stable)} → {a.Verdict}{(a.Detail is { } d ? $" ({d})" : "")}");
            if (state.Rollouts.FirstOrDefault(r => r.RolloutId == rolloutId) is { } outcome)
                return outcome;
            if (state.Rollout is { } r && r.Step != step)
            {
                step = r.Step;
                Say($"→ step {step + 1}: the canary takes {r.Steps[step].Weight} % ({EndpointsCommand.Traffic(state.Traffic)})");
            }
            if (clock.Elapsed > TimeSpan.FromMinutes(5))
                throw new CliError($"the canary on '{endpoint}' did not end within 5 minutes (is the rollout agent running? ./emo endpoints show {endpoint})");
            await Task.Delay(250, ct);
        }
    }

    private static string Load(VersionMetrics m) =>
        m.Requests == 0 ? "no requests" : $"{m.Requests} req, {m.Errors} errors, p95 {m.P95Ms:0.0} ms";
}
