using EventMlOps.Contracts.Views;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Mlflow;

public sealed record ExperimentCreated(string ExperimentId, string Name, string? ArtifactLocation, IReadOnlyDictionary<string, string> Tags,
    string CreatedBy, DateTimeOffset CreatedAt);

public sealed record ExperimentRenamed(string ExperimentId, string Name, string RenamedBy, DateTimeOffset RenamedAt);

/// <summary>MLflow's soft delete and restore: <paramref name="Stage"/> is <c>deleted</c> or <c>active</c>; nothing is erased.</summary>
public sealed record ExperimentLifecycleChanged(string ExperimentId, string Stage, string ChangedBy, DateTimeOffset ChangedAt);

public sealed record ExperimentTagSet(string ExperimentId, string Key, string Value, string SetBy, DateTimeOffset SetAt);

/// <summary>An MLflow experiment (stream <c>experiment:{id}</c>): a named group of runs. Its name is unique (an index
/// catches two creators racing); <see cref="Experiments.Default"/> (id 0) exists without a stream, as on any MLflow server.</summary>
public sealed record Experiment(
    string Id,
    string ExperimentId,
    string Name,
    string? ArtifactLocation,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string Stage,
    IReadOnlyDictionary<string, string> Tags)
{
    public static Experiment Create(ExperimentCreated e) =>
        new(Experiments.Stream(e.ExperimentId), e.ExperimentId, e.Name, e.ArtifactLocation, e.CreatedBy, e.CreatedAt, e.CreatedAt, Experiments.Active, e.Tags);

    public Experiment Apply(ExperimentRenamed e) => this with { Name = e.Name, UpdatedAt = e.RenamedAt };

    public Experiment Apply(ExperimentLifecycleChanged e) => this with { Stage = e.Stage, UpdatedAt = e.ChangedAt };

    public Experiment Apply(ExperimentTagSet e) =>
        this with { Tags = new Dictionary<string, string>(Tags) { [e.Key] = e.Value }, UpdatedAt = e.SetAt };
}

[SentBy(Roles.Scientist)]
public sealed record CreateExperiment(Guid CommandId, string ExperimentId, string Name, string? ArtifactLocation, IReadOnlyDictionary<string, string> Tags)
    : ICommand;

/// <summary>One change to an experiment: a new name, a lifecycle stage (delete/restore) or a tag.</summary>
[SentBy(Roles.Scientist)]
public sealed record ChangeExperiment(Guid CommandId, string ExperimentId, string? NewName = null, string? Stage = null, string? TagKey = null,
    string? TagValue = null) : ICommand;

public static class Experiments
{
    public const string DefaultId = "0", Active = "active", Deleted = "deleted";

    public static string Stream(string experimentId) => $"experiment:{experimentId}";

    /// <summary>The experiment every MLflow server has; runs launched through <c>emo train</c> belong to it.</summary>
    public static readonly Experiment Default = new(Stream(DefaultId), DefaultId, "Default", null, "system", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch,
        Active, new Dictionary<string, string>());

    /// <summary>A new experiment's id: digits, as MLflow's are (clients treat them as text); a collision is a stream
    /// conflict, never a merge.</summary>
    public static string NewId() => (BitConverter.ToUInt64(Guid.NewGuid().ToByteArray()) % 900_000_000_000_000_000UL + 100_000_000_000_000_000UL).ToString();

    public static string ValidName(string field, string? name) =>
        string.IsNullOrWhiteSpace(name) ? throw new InvalidField(field, "is required")
        : name.Length > 256 || Inputs.HasControl(name) ? throw new InvalidField(field, "must be at most 256 printable characters")
        : name;

    public static async Task<Experiment?> LoadAsync(IQuerySession session, string? experimentId, CancellationToken ct) =>
        experimentId == DefaultId ? Default
        : experimentId is { Length: > 0 and <= 40 } id && id.All(char.IsAsciiDigit) ? await session.LoadAsync<Experiment>(Stream(id), ct)
        : null;

    public static async Task<Experiment?> ByNameAsync(IQuerySession session, string name, CancellationToken ct) =>
        name == Default.Name ? Default : await session.Query<Experiment>().FirstOrDefaultAsync(e => e.Name == name, ct);

    public static bool Owns(Actor actor, string createdBy) => actor.Name == createdBy || actor.IsIn(Roles.Admin);

    /// <summary>Refuses a name another experiment than <paramref name="self"/> holds.</summary>
    public static async Task EnsureFreeAsync(IQuerySession session, string name, CancellationToken ct, string? self = null)
    {
        if (await ByNameAsync(session, name, ct) is { } taken && taken.ExperimentId != self)
            throw new AlreadyExists($"an experiment named {Guard.Shown(name)} already exists (id {taken.ExperimentId}, {taken.Stage})");
    }

}

public static class ExperimentHandler
{
    public static async Task<CommandAccepted> Handle(CreateExperiment c, Actor actor, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var name = Experiments.ValidName("name", c.Name);
        await Experiments.EnsureFreeAsync(session, name, ct);
        foreach (var key in c.Tags.Keys) Guard.Key("tags.key", key);
        return await session.DecideAsync<Experiment>(c, Experiments.Stream(c.ExperimentId), e => e is null
            ? [new ExperimentCreated(c.ExperimentId, name, Guard.Text("artifact_location", c.ArtifactLocation, 1024), c.Tags, actor.Name, time.GetUtcNow())]
            : throw new AlreadyExists($"experiment {c.ExperimentId} already exists"));
    }

    public static async Task<CommandAccepted> Handle(ChangeExperiment c, Actor actor, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        if (c.ExperimentId == Experiments.DefaultId) throw new Refused("the Default experiment (id 0) cannot be renamed, deleted or tagged");
        if (c.NewName is { } newName) await Experiments.EnsureFreeAsync(session, Experiments.ValidName("new_name", newName), ct, self: c.ExperimentId);
        var now = time.GetUtcNow();
        return await session.DecideAsync<Experiment>(c, Experiments.Stream(c.ExperimentId), e =>
        {
            if (e is null) throw new NotFound("experiment", c.ExperimentId);
            if (!Experiments.Owns(actor, e.CreatedBy)) throw new Forbidden($"experiment {e.ExperimentId} was created by {e.CreatedBy}; {actor.Name} may not change it");
            if (c.Stage is { } stage)
            {
                if (stage is not (Experiments.Active or Experiments.Deleted)) throw new InvalidField("lifecycle_stage", "must be active or deleted");
                return stage == e.Stage ? [] : [new ExperimentLifecycleChanged(e.ExperimentId, stage, actor.Name, now)];
            }
            if (e.Stage == Experiments.Deleted) throw new Refused($"experiment {e.ExperimentId} is deleted; restore it first");
            if (c.NewName is { } name) return name == e.Name ? [] : [new ExperimentRenamed(e.ExperimentId, name, actor.Name, now)];
            return [new ExperimentTagSet(e.ExperimentId, Guard.Key("key", c.TagKey), c.TagValue ?? "", actor.Name, now)];
        });
    }
}
