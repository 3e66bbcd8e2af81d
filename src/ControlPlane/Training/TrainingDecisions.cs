using EventMlOps.ControlPlane.Mlflow;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;

namespace EventMlOps.ControlPlane.Training;

/// <summary>Pure decisions over a training run: (state, command, now) → events.</summary>
public static class TrainingDecisions
{
    /// <param name="catalog">The trainer kinds and the hyperparameters each declares: what the trainer would refuse is
    /// refused now, not when the job runs.</param>
    /// <param name="trigger">The drift alarm behind a run that a retraining policy requests.</param>
    public static object[] Request(TrainingRun? current, Dataset? dataset, RequestTraining c, TrainerCatalog catalog, string actor, DateTimeOffset now,
        DriftTrigger? trigger = null)
    {
        Guard.Id("runId", c.RunId);
        Guard.Name("modelName", c.ModelName);
        Guard.Name("trainerKind", c.TrainerKind);
        Guard.Id("datasetId", c.DatasetId);
        if (catalog.Problem(c.TrainerKind, c.Hyperparameters, c.Options) is { } problem)
            throw new InvalidField(problem.Field, problem.Reason);
        var resources = c.Resources ?? new TrainingResources();
        if (resources.Cpus < 1) throw new InvalidField("resources.cpus", "must be ≥ 1");
        if (resources.MemoryMb < 64) throw new InvalidField("resources.memoryMb", "must be ≥ 64");
        if (resources.Gpus < 0) throw new InvalidField("resources.gpus", "must be ≥ 0");
        if (dataset is null)
            throw new NotFound("dataset", c.DatasetId.ToString("N"));
        if (current is not null)
            throw new Refused($"run {c.RunId:N} already exists ({current.Status})");
        return
        [
            new TrainingRunRequested(c.RunId, c.ModelName, c.TrainerKind, dataset.DatasetId, dataset.Uri, dataset.Sha256,
                c.Hyperparameters ?? new Dictionary<string, double>(), resources,
                // A job carries its code version (a commit, or an image tag or digest): a short identifier, not a document.
                Guard.Text("codeVersion", Guard.Required("codeVersion", c.CodeVersion), max: 256)!, actor, now, trigger,
                c.Options is { Count: > 0 } options ? options : null),
        ];
    }

    /// <summary>A new run repeating a succeeded one, by <paramref name="actor"/>: the same model, dataset, trainer, code version,
    /// resources and hyperparameters, the seed made explicit (the run's own, else the one its trainer tracked using: a default
    /// the trainer may change), and <see cref="RunReproduced"/> on both runs. Whether the dataset's content is still in the
    /// artifact store is checked by those who can read the store — the CLI before it asks, the trainer when it fetches.</summary>
    public static (object[] OnOriginal, object[] OnReproduction) Reproduce(TrainingRun? original, RunTracking? tracked, TrainingRun? current,
        Dataset? dataset, ReproduceRun c, TrainerCatalog catalog, string actor, DateTimeOffset now)
    {
        Guard.Id("originalRunId", c.OriginalRunId);
        var o = Existing(original, c.OriginalRunId);
        if (o.Status != RunStatus.Succeeded)
            throw new Refused($"run {c.OriginalRunId:N} is {o.Status.ToString().ToLowerInvariant()}; only a succeeded run has results to reproduce");
        if (string.IsNullOrWhiteSpace(o.CodeVersion))
            throw new Refused($"run {c.OriginalRunId:N} recorded no code version: what it ran cannot be named again");
        var hyperparameters = new Dictionary<string, double>(o.Hyperparameters);
        if (!hyperparameters.Keys.Any(k => TrainerCatalog.Normalize(k) == Seed))
            hyperparameters[Seed] = TrackedSeed(tracked)
                ?? throw new Refused($"run {c.OriginalRunId:N} recorded no seed (none was requested and its trainer tracked none): its randomness cannot be replayed");
        var request = new RequestTraining(c.CommandId, c.RunId, o.ModelName, o.TrainerKind, o.DatasetId, hyperparameters, o.Resources, o.CodeVersion, o.Options);
        var requested = Request(current, dataset, request, catalog, actor, now);
        var link = new RunReproduced(c.RunId, c.OriginalRunId, actor, now);
        return ([link], [.. requested, link]);
    }

    private const string Seed = "seed";

    /// <summary>The seed the trainer tracked (emo-train logs every parameter it used), if it is a whole number.</summary>
    private static double? TrackedSeed(RunTracking? tracked) =>
        tracked?.Params.GetValueOrDefault(Seed) is { } text
        && double.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var seed)
            ? seed
            : null;

    public static object[] Cancel(TrainingRun? run, CancelTraining c, string actor, DateTimeOffset now)
    {
        var r = Existing(run, c.RunId);
        if (r.Status == RunStatus.Cancelled) return [];
        if (r.IsFinished)
            throw new Refused($"run {c.RunId:N} already {r.Status.ToString().ToLowerInvariant()}; a finished run cannot be cancelled");
        return [new TrainingRunCancelled(c.RunId, string.IsNullOrWhiteSpace(c.Reason) ? "cancelled" : Guard.Text("reason", c.Reason)!, actor, now)];
    }

    public static object[] Submitted(TrainingRun? run, JobSubmittedReport c, DateTimeOffset now)
    {
        var r = Unfinished(run, c.RunId, "submitted");
        return r.Status == RunStatus.Requested ? [new TrainingRunSubmitted(c.RunId, Guard.Required("jobName", c.JobName), c.Runtime, now)] : [];
    }

    public static object[] Started(TrainingRun? run, TrainingStartedReport c) =>
        Unfinished(run, c.RunId, "started").Status is RunStatus.Requested or RunStatus.Submitted
            ? [new TrainingRunStarted(c.RunId, c.StartedAt)]
            : [];

    public static object[] Epoch(TrainingRun? run, EpochReport c, DateTimeOffset now)
    {
        var r = Unfinished(run, c.RunId, "epoch completed");
        if (c.Epoch < 1) throw new InvalidField("epoch", "must be ≥ 1");
        return c.Epoch <= r.Epochs ? [] : [new TrainingEpochCompleted(c.RunId, c.Epoch, c.Metrics ?? new Dictionary<string, double>(), now)];
    }

    public static object[] Succeeded(TrainingRun? run, TrainingSucceededReport c, DateTimeOffset now)
    {
        Unfinished(run, c.RunId, "succeeded");
        Guard.Required("artifactUri", c.ArtifactUri);
        Guard.Sha256("artifactSha256", c.ArtifactSha256);
        foreach (var (name, output) in c.Outputs ?? new Dictionary<string, Contracts.Artifacts.ArtifactRef>())
        {
            Guard.Required($"outputs.{name}.uri", output.Uri);
            Guard.Sha256($"outputs.{name}.sha256", output.Sha256);
        }
        return [new TrainingRunSucceeded(c.RunId, c.ArtifactUri, c.ArtifactSha256, c.Metrics ?? new Dictionary<string, double>(), now, c.Outputs)];
    }

    public static object[] Failed(TrainingRun? run, TrainingFailedReport c, DateTimeOffset now)
    {
        Unfinished(run, c.RunId, "failed");
        return [new TrainingRunFailed(c.RunId, Guard.Required("reason", c.Reason), c.ExitCode, now)];
    }

    /// <summary>A beat: the run's liveness now, or null for a finished run (a late beat is harmless).</summary>
    public static RunLiveness? Heartbeat(TrainingRun? run, HeartbeatReport c, DateTimeOffset now)
    {
        var r = Existing(run, c.RunId);
        return r.IsFinished ? null : new RunLiveness(r.Id, r.RunId, Guard.Required("jobName", c.JobName), now);
    }

    /// <summary>Why the job makes no progress, or null once that cleared: recorded when it changed, so a reason the agent sends
    /// again (after a restart) records nothing. A finished run ignores it, like a late beat: the report may race the run's
    /// end (a cancellation the agent has not seen yet).</summary>
    public static object[] Waiting(TrainingRun? run, JobWaitingReport c, DateTimeOffset now)
    {
        var reason = string.IsNullOrWhiteSpace(c.Reason) ? null : Guard.Text("reason", c.Reason, JobWaitingReport.MaxReasonLength);
        // Shown as one line: a line break or carriage return could pass off other text as the run's.
        if (reason?.Any(char.IsControl) == true) throw new InvalidField("reason", "must be one line without control characters");
        var r = Existing(run, c.RunId);
        return r.IsFinished || r.WaitingReason == reason ? [] : [new TrainingJobWaitingChanged(c.RunId, reason, now)];
    }

    /// <summary>An unfinished run whose job has not beaten for <paramref name="after"/> stalled — decided once per last beat.</summary>
    public static object[] Stalled(TrainingRun? run, RunLiveness liveness, DateTimeOffset now, TimeSpan after) =>
        run is { IsFinished: false } r && now - liveness.LastBeatAt >= after && r.StalledSince != liveness.LastBeatAt
            ? [new TrainingRunStalled(r.RunId, liveness.LastBeatAt, now)]
            : [];

    /// <summary>How long after its success a run still takes tracking calls: the trainer may flush its last metrics after
    /// the agent saw it exit; after that the record is closed.</summary>
    public static readonly TimeSpan TrackingGrace = TimeSpan.FromMinutes(2);

    /// <summary>The run, for one who may write to it (<see cref="Mlflow.TrackedRuns.EnsureWriter"/>) while it takes tracking
    /// calls and artifacts: unfinished, or succeeded less than <see cref="TrackingGrace"/> ago; a cancelled or failed run
    /// takes nothing more.</summary>
    public static TrainingRun Writable(TrainingRun? run, Guid id, Actor actor, DateTimeOffset now)
    {
        var r = Existing(run, id);
        Mlflow.TrackedRuns.EnsureWriter(r, actor);
        return r.Status is RunStatus.Cancelled or RunStatus.Failed || (r.FinishedAt is { } finished && now - finished > TrackingGrace)
            ? throw new Refused($"run {id:N} is {r.Status.ToString().ToLowerInvariant()}; nothing more can be logged to it")
            : r;
    }

    /// <summary>A tracking call to a <see cref="Writable"/> run. Metrics may be NaN or infinite, as MLflow records them.</summary>
    public static object[] Log(TrainingRun? run, RunTracking? tracked, LogToRun c, Actor actor, DateTimeOffset now)
    {
        var r = Writable(run, c.RunId, actor, now);
        if (c.Tags.TryGetValue(Mlflow.TrackedRuns.UserTag, out var user) && user != r.RequestedBy)
            throw new InvalidField($"tags.{Mlflow.TrackedRuns.UserTag}", $"names the run's user, {r.RequestedBy}, as its token did; it cannot be changed");
        foreach (var m in c.Metrics) Guard.Key("metrics.key", m.Key);
        foreach (var key in c.Params.Keys.Concat(c.Tags.Keys)) Guard.Key("key", key);
        foreach (var (key, value) in c.Params)
            if (tracked?.Params.TryGetValue(key, out var logged) == true && logged != value)
                throw new InvalidField($"params.{key}", $"was already logged as '{logged}'; a parameter cannot change (MLflow semantics)");
        var tags = c.LoggedModel is { } model
            ? new Dictionary<string, string>(c.Tags) { [LoggedModels.HistoryTag] = LoggedModels.Append(tracked?.Tags.GetValueOrDefault(LoggedModels.HistoryTag), model) }
            : c.Tags;
        return c.Metrics.Count + c.Params.Count + tags.Count == 0
            ? []
            : [new TrainingRunLogged(c.RunId, c.Metrics, c.Params, tags, now)];
    }

    private static TrainingRun Existing(TrainingRun? run, Guid id) => run ?? throw new NotFound("run", id.ToString("N"));

    private static TrainingRun Unfinished(TrainingRun? run, Guid id, string fact)
    {
        var r = Existing(run, id);
        return r.IsFinished
            ? throw new Refused($"run {id:N} is already {r.Status.ToString().ToLowerInvariant()}; cannot record '{fact}'")
            : r;
    }
}
