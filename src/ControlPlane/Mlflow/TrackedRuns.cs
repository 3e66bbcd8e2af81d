using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Mlflow;

/// <summary>MLflow's <c>runs/create</c>: a person's script starts a run in an experiment.</summary>
[SentBy(Roles.Scientist)]
public sealed record StartTrackedRun(Guid CommandId, Guid RunId, string ExperimentId, long? StartTime, IReadOnlyDictionary<string, string> Tags) : ICommand;

/// <summary>One change to a run by an MLflow client: its end (<c>runs/update</c> with a terminal status), its lifecycle
/// stage (<c>runs/delete|restore</c>) or a tag removed (<c>runs/delete-tag</c>).</summary>
[SentBy(Roles.Scientist)]
public sealed record ChangeTrackedRun(Guid CommandId, Guid RunId, string? Status = null, long? EndTime = null, string? Stage = null, string? DeleteTag = null)
    : ICommand, IRunScoped;

public static class TrackedRunHandler
{
    public static async Task<CommandAccepted> Handle(StartTrackedRun c, Actor actor, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var experiment = await Experiments.LoadAsync(session, c.ExperimentId, ct) ?? throw new NotFound("experiment", c.ExperimentId);
        if (experiment.Stage == Experiments.Deleted) throw new Refused($"experiment {experiment.ExperimentId} is deleted; restore it first");
        foreach (var key in c.Tags.Keys) Guard.Key("tags.key", key);
        var now = time.GetUtcNow();
        var started = c.StartTime is { } ms ? TrackedRuns.Time("start_time", ms, now) : now;
        return await session.DecideAsync<TrainingRun>(c, StreamKeys.Run(c.RunId), run => run is null
            ? [new TrackedRunStarted(c.RunId, experiment.ExperimentId, experiment.Name, actor.Name, started, c.Tags)]
            : throw new AlreadyExists($"run {c.RunId:N} already exists"));
    }

    public static Task<CommandAccepted> Handle(ChangeTrackedRun c, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(c, StreamKeys.Run(c.RunId), run => TrackedRuns.Change(run, c, actor, time.GetUtcNow()));
}

public static class TrackedRuns
{
    /// <summary>MLflow's tag for the run's user: set from the token that started the run, and never changed or removed after.</summary>
    public const string UserTag = "mlflow.user";

    /// <summary>Who may write to <paramref name="run"/>: its trainer's run-scoped token; for a run an MLflow client started,
    /// the person who started it; an admin.</summary>
    public static void EnsureWriter(TrainingRun run, Actor actor)
    {
        if (actor.Run == run.RunId || actor.IsIn(Roles.Admin) || (run.TrainerKind == TrainingRun.Tracked && run.RequestedBy == actor.Name))
            return;
        throw new Forbidden(run.TrainerKind == TrainingRun.Tracked
            ? $"run {run.RunId:N} was started by {run.RequestedBy}; {actor.Name} may not write to it"
            : $"run {run.RunId:N} was launched through a work order; only its trainer's run token writes to it");
    }

    /// <summary>MLflow's run statuses that end a run, as ours.</summary>
    public static RunStatus? Ending(string status) => status switch
    {
        "FINISHED" => RunStatus.Succeeded,
        "FAILED" => RunStatus.Failed,
        "KILLED" => RunStatus.Cancelled,
        "RUNNING" or "SCHEDULED" => null,
        _ => throw new InvalidField("status", $"{Guard.Shown(status)} is no run status (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)"),
    };

    /// <summary>A client's Unix-millisecond time: from 2000 to a day ahead of this clock.</summary>
    public static DateTimeOffset Time(string field, long ms, DateTimeOffset now) =>
        ms >= 946_684_800_000 && ms <= now.AddDays(1).ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : throw new InvalidField(field, "must be Unix milliseconds between the year 2000 and tomorrow");

    public static object[] Change(TrainingRun? run, ChangeTrackedRun c, Actor actor, DateTimeOffset now)
    {
        var r = run ?? throw new NotFound("run", c.RunId.ToString("N"));
        EnsureWriter(r, actor);
        if (c.DeleteTag is { } key)
            return key == UserTag
                ? throw new InvalidField("key", $"{UserTag} names the run's user, as its token did; it cannot be removed")
                : [new RunTagDeleted(r.RunId, Guard.Key("key", key), actor.Name, now)];
        if (c.Stage is { } stage)
            return stage is not (Experiments.Active or Experiments.Deleted) ? throw new InvalidField("lifecycle_stage", "must be active or deleted")
                : stage == (r.LifecycleStage ?? Experiments.Active) ? []
                : [new RunLifecycleChanged(r.RunId, stage, actor.Name, now)];
        if (r.TrainerKind != TrainingRun.Tracked)
            throw new Refused($"run {r.RunId:N} was launched through a work order: its agent reports how it ends");
        if (Ending(c.Status ?? "") is not { } status) return [];
        if (r.IsFinished)
            return r.Status == status ? [] : throw new Refused($"run {r.RunId:N} already ended ({r.Status.ToString().ToLowerInvariant()}); a run is not reopened");
        var end = c.EndTime is { } ms ? Time("end_time", ms, now) : now;
        return end < r.RequestedAt
            ? throw new InvalidField("end_time", "is before the run's start")
            : [new TrackedRunEnded(r.RunId, status, actor.Name, end)];
    }
}
