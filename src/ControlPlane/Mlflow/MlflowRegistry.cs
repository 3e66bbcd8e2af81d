using EventMlOps.Contracts;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Registry;
using Marten;
using Wolverine;

namespace EventMlOps.ControlPlane.Mlflow;

public sealed record RegisteredModelCreated(string Name, string? Description, IReadOnlyDictionary<string, string> Tags, string CreatedBy, DateTimeOffset CreatedAt);

public sealed record RegisteredModelDescribed(string Name, string? Description, string DescribedBy, DateTimeOffset DescribedAt);

public sealed record RegisteredModelTagSet(string Name, string Key, string Value, string SetBy, DateTimeOffset SetAt);

/// <summary>What MLflow keeps about a registered model besides its versions (stream <c>registered-model:{name}</c>):
/// its description and tags. A model whose versions were registered otherwise (<c>emo versions register</c>) has none,
/// and is a registered model all the same.</summary>
public sealed record RegisteredModel(string Id, string Name, string? Description, IReadOnlyDictionary<string, string> Tags, string CreatedBy,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static string Stream(string name) => $"registered-model:{name}";

    public static RegisteredModel Create(RegisteredModelCreated e) => new(Stream(e.Name), e.Name, e.Description, e.Tags, e.CreatedBy, e.CreatedAt, e.CreatedAt);

    public RegisteredModel Apply(RegisteredModelDescribed e) => this with { Description = e.Description, UpdatedAt = e.DescribedAt };

    public RegisteredModel Apply(RegisteredModelTagSet e) => this with { Tags = new Dictionary<string, string>(Tags) { [e.Key] = e.Value }, UpdatedAt = e.SetAt };
}

/// <summary>MLflow's <c>registered-models/create</c>.</summary>
[SentBy(Roles.Scientist)]
public sealed record CreateRegisteredModel(Guid CommandId, string Name, string? Description, IReadOnlyDictionary<string, string> Tags) : ICommand;

/// <summary>MLflow's <c>registered-models/update</c> (a description) or <c>set-tag</c>.</summary>
[SentBy(Roles.Scientist)]
public sealed record ChangeRegisteredModel(Guid CommandId, string Name, string? Description = null, string? TagKey = null, string? TagValue = null) : ICommand;

public static class RegisteredModelHandler
{
    public static async Task<CommandAccepted> Handle(CreateRegisteredModel c, Actor actor, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        Guard.Name("name", c.Name);
        foreach (var key in c.Tags.Keys) Guard.Key("tags.key", key);
        if (await session.Query<ModelVersion>().AnyAsync(v => v.ModelName == c.Name, ct))
            throw new AlreadyExists($"registered model '{c.Name}' already exists (it has versions)");
        return await session.DecideAsync<RegisteredModel>(c, RegisteredModel.Stream(c.Name), m => m is null
            ? [new RegisteredModelCreated(c.Name, Guard.Text("description", c.Description), c.Tags, actor.Name, time.GetUtcNow())]
            : throw new AlreadyExists($"registered model '{c.Name}' already exists"));
    }

    /// <summary>Describes or tags a model, creating its record when its versions came first.</summary>
    public static Task<CommandAccepted> Handle(ChangeRegisteredModel c, Actor actor, IDocumentSession session, TimeProvider time)
    {
        Guard.Name("name", c.Name);
        var now = time.GetUtcNow();
        return session.DecideAsync<RegisteredModel>(c, RegisteredModel.Stream(c.Name), m =>
        {
            object change = c.TagKey is { } key
                ? new RegisteredModelTagSet(c.Name, Guard.Key("key", key), c.TagValue ?? "", actor.Name, now)
                : new RegisteredModelDescribed(c.Name, Guard.Text("description", c.Description), actor.Name, now);
            return m is null ? [new RegisteredModelCreated(c.Name, null, new Dictionary<string, string>(), actor.Name, now), change] : [change];
        });
    }
}

public sealed record MlflowModelVersion(string Name, string Version, long CreationTimestamp, long LastUpdatedTimestamp, string UserId, string CurrentStage,
    string Description, string Source, string RunId, string Status, IReadOnlyList<MlflowTag> Tags, IReadOnlyList<string> Aliases);
public sealed record MlflowAlias(string Alias, string Version);
public sealed record MlflowRegisteredModel(string Name, long CreationTimestamp, long LastUpdatedTimestamp, string UserId, string Description,
    IReadOnlyList<MlflowModelVersion> LatestVersions, IReadOnlyList<MlflowTag> Tags, IReadOnlyList<MlflowAlias> Aliases);
public sealed record RegisteredModelRequest(string? Name, string? NewName, string? Description, IReadOnlyList<MlflowTag>? Tags, string? Key, string? Value,
    string? Alias, string? Version, IReadOnlyList<string>? Stages);
public sealed record ModelVersionRequest(string? Name, string? Version, string? Source, string? RunId, string? Description, string? Stage,
    bool? ArchiveExistingVersions, IReadOnlyList<MlflowTag>? Tags);
public sealed record SearchRegistryRequest(string? Filter, int? MaxResults, IReadOnlyList<string>? OrderBy, string? PageToken);
public sealed record RegisteredModelResponse(MlflowRegisteredModel RegisteredModel);
public sealed record SearchRegisteredModelsResponse(IReadOnlyList<MlflowRegisteredModel> RegisteredModels, string? NextPageToken);
public sealed record ModelVersionResponse(MlflowModelVersion ModelVersion);
public sealed record ModelVersionsResponse(IReadOnlyList<MlflowModelVersion> ModelVersions);
public sealed record SearchModelVersionsResponse(IReadOnlyList<MlflowModelVersion> ModelVersions, string? NextPageToken);
public sealed record DownloadUriResponse(string ArtifactUri);

/// <summary>MLflow's model registry (<c>registered-models/*</c>, <c>model-versions/*</c>) on our registry's events: a version
/// created through MLflow is a <see cref="RegisterModelVersion"/> of the run's uploaded ONNX model, a stage transition is
/// <see cref="TransitionModelStage"/> with our rules kept (Production needs another person's approval; the refusal is
/// MLflow's error with our reason), an alias is <see cref="SetModelAlias"/> or <see cref="RemoveModelAlias"/>. What would
/// erase history (deleting a model or version, renaming a model whose versions are streams of that name) is refused with
/// the way to do it here.</summary>
public static class MlflowRegistry
{
    private const int MaxResults = 1000;

    public static void Map(RouteGroupBuilder group, Func<HttpContext, Actor> reader, Func<HttpContext, IMessageContext, ICommand, CancellationToken, Task> send)
    {
        var models = group.MapGroup("/registered-models");
        models.MapPost("/create", async (HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var r = await MlflowApi.Read<RegisteredModelRequest>(http, ct);
            var name = Guard.Required("name", r.Name);
            await send(http, bus, new CreateRegisteredModel(Guid.NewGuid(), name, r.Description, MlflowApi.Pairs(r.Tags, "tags")), ct);
            return MlflowApi.Json(new RegisteredModelResponse(await ModelAsync(session, name, ct)));
        });
        models.MapGet("/get", async (string? name, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            reader(http);
            return MlflowApi.Json(new RegisteredModelResponse(await ModelAsync(session, Guard.Required("name", name), ct)));
        });
        models.MapPost("/search", async (HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            reader(http);
            var r = await MlflowApi.Read<SearchRegistryRequest>(http, ct);
            var clauses = SearchFilter.Parse(r.Filter, (_, _) => false);
            var names = (await session.Query<ModelVersion>().Select(v => v.ModelName).Distinct().ToListAsync(ct))
                .Union(await session.Query<RegisteredModel>().Select(m => m.Name).ToListAsync(ct)).ToList();
            var found = new List<MlflowRegisteredModel>();
            foreach (var name in names.Where(n => SearchFilter.Matches(clauses, (entity, key) => entity == SearchFilter.Attributes && key == "name" ? n : null)))
                found.Add(await ModelAsync(session, name, ct));
            var sorted = SearchFilter.Sort(found, SearchFilter.Order(r.OrderBy), (m, _, key) => key == "name" ? m.Name : (double)m.LastUpdatedTimestamp, m => m.Name);
            var (page, next) = SearchFilter.Page(sorted, r.MaxResults, r.PageToken, MaxResults);
            return MlflowApi.Json(new SearchRegisteredModelsResponse(page, next));
        });
        models.MapPatch("/update", async (HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var r = await MlflowApi.Read<RegisteredModelRequest>(http, ct);
            var name = Guard.Required("name", r.Name);
            await ModelAsync(session, name, ct);
            await send(http, bus, new ChangeRegisteredModel(Guid.NewGuid(), name, Description: r.Description ?? ""), ct);
            return MlflowApi.Json(new RegisteredModelResponse(await ModelAsync(session, name, ct)));
        });
        models.MapPost("/set-tag", async (HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var r = await MlflowApi.Read<RegisteredModelRequest>(http, ct);
            var name = Guard.Required("name", r.Name);
            await ModelAsync(session, name, ct);
            await send(http, bus, new ChangeRegisteredModel(Guid.NewGuid(), name, TagKey: r.Key ?? "", TagValue: r.Value), ct);
            return MlflowApi.Json(new MlflowEmpty());
        });
        models.MapPost("/rename", () => Refused("a model's versions are streams of its name; register the next version under the new name instead"));
        models.MapDelete("/delete", () => Refused("a registered model is history and is never deleted; archive its versions (transition-stage to Archived)"));
        models.MapPost("/get-latest-versions", async (HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            reader(http);
            var r = await MlflowApi.Read<RegisteredModelRequest>(http, ct);
            var versions = await VersionsAsync(session, Guard.Required("name", r.Name), ct);
            var latest = versions.GroupBy(v => v.Stage).Where(g => r.Stages is not { Count: > 0 } stages || stages.Contains(Stage(g.Key), StringComparer.OrdinalIgnoreCase))
                .Select(g => Shape(g.MaxBy(v => v.Version)!)).OrderBy(v => int.Parse(v.Version)).ToList();
            return MlflowApi.Json(new ModelVersionsResponse(latest));
        });
        models.MapPost("/alias", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await MlflowApi.Read<RegisteredModelRequest>(http, ct);
            await send(http, bus, new SetModelAlias(Guid.NewGuid(), Guard.Required("name", r.Name), VersionOf(r.Version), Guard.Required("alias", r.Alias)), ct);
            return MlflowApi.Json(new MlflowEmpty());
        });
        models.MapDelete("/alias", async (string? name, string? alias, HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            // MLflow's clients send these as the query or as a JSON body.
            var r = name is null && http.Request.HasJsonContentType() ? await MlflowApi.Read<RegisteredModelRequest>(http, ct) : null;
            await send(http, bus, new RemoveModelAlias(Guid.NewGuid(), Guard.Required("name", name ?? r?.Name), Guard.Required("alias", alias ?? r?.Alias)), ct);
            return MlflowApi.Json(new MlflowEmpty());
        });
        models.MapGet("/alias", async (string? name, string? alias, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            reader(http);
            var model = Guard.Required("name", name);
            var version = await session.Query<ModelVersion>().Where(v => v.ModelName == model && v.Aliases.Contains(alias!)).FirstOrDefaultAsync(ct)
                ?? throw new NotFound("alias", $"{model}@{alias}");
            return MlflowApi.Json(new ModelVersionResponse(Shape(version)));
        });

        var versions = group.MapGroup("/model-versions");
        versions.MapPost("/create", async (HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var r = await MlflowApi.Read<ModelVersionRequest>(http, ct);
            var name = Guard.Required("name", r.Name);
            var runId = Guid.TryParse(r.RunId, out var id) ? id : throw new InvalidField("run_id", "a model version is created from a run: name it");
            await send(http, bus, new RegisterModelVersion(Guid.NewGuid(), name, runId, PathIn(Guard.Required("source", r.Source), runId)), ct);
            var created = await session.Query<ModelVersion>().Where(v => v.ModelName == name && v.RunId == runId).FirstAsync(ct);
            return MlflowApi.Json(new ModelVersionResponse(Shape(created)));
        });
        versions.MapGet("/get", async (string? name, string? version, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            reader(http);
            return MlflowApi.Json(new ModelVersionResponse(Shape(await VersionAsync(session, name, version, ct))));
        });
        versions.MapGet("/get-download-uri", async (string? name, string? version, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            reader(http);
            var v = await VersionAsync(session, name, version, ct);
            return MlflowApi.Json(new DownloadUriResponse(v.Source ?? v.ArtifactUri));
        });
        versions.MapPost("/transition-stage", async (HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var r = await MlflowApi.Read<ModelVersionRequest>(http, ct);
            var v = await VersionAsync(session, r.Name, r.Version, ct);
            var stage = Enum.TryParse<ModelStage>(r.Stage, ignoreCase: true, out var s) && Enum.IsDefined(s)
                ? s : throw new InvalidField("stage", "must be None, Staging, Production or Archived");
            if (r.ArchiveExistingVersions == true) throw new InvalidField("archive_existing_versions", "is not done here: archive each version by its own transition");
            await send(http, bus, new TransitionModelStage(Guid.NewGuid(), v.ModelName, v.Version, stage), ct);
            return MlflowApi.Json(new ModelVersionResponse(Shape(await VersionAsync(session, r.Name, r.Version, ct))));
        });
        versions.MapPost("/search", async (HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            reader(http);
            var r = await MlflowApi.Read<SearchRegistryRequest>(http, ct);
            return await SearchVersionsAsync(session, r, ct);
        });
        versions.MapGet("/search", async (string? filter, int? max_results, string? page_token, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            reader(http);
            return await SearchVersionsAsync(session, new SearchRegistryRequest(filter, max_results, [.. http.Request.Query["order_by"].OfType<string>()], page_token), ct);
        });
        versions.MapPatch("/update", () => Refused("a version's record is its history of events; describe it in the approval's comment or a tag of its run"));
        versions.MapDelete("/delete", () => Refused("a model version is history and is never deleted; archive it (transition-stage to Archived)"));
    }

    private static async Task<IResult> SearchVersionsAsync(IQuerySession session, SearchRegistryRequest r, CancellationToken ct)
    {
        var clauses = SearchFilter.Parse(r.Filter, (_, key) => key == "version_number");
        var all = await session.Query<ModelVersion>().OrderBy(v => v.RegisteredAt).Take(MlflowApi.MaxScanned + 1).ToListAsync(ct);
        if (all.Count > MlflowApi.MaxScanned) throw new InvalidField("filter", $"more than {MlflowApi.MaxScanned} model versions: this server searches at most {MlflowApi.MaxScanned}");
        var shaped = all.Select(Shape).Where(v => SearchFilter.Matches(clauses, (entity, key) => Value(v, entity, key))).ToList();
        var orders = SearchFilter.Order(r.OrderBy);
        var sorted = SearchFilter.Sort(shaped, orders.Count > 0 ? orders : [(SearchFilter.Attributes, "name", false), (SearchFilter.Attributes, "version_number", true)],
            Value, v => v.Name + "@" + v.Version);
        var (page, next) = SearchFilter.Page(sorted, r.MaxResults, r.PageToken, MaxResults);
        return MlflowApi.Json(new SearchModelVersionsResponse(page, next));

        static object? Value(MlflowModelVersion v, string entity, string key) => entity switch
        {
            SearchFilter.Tags => v.Tags.FirstOrDefault(t => t.Key == key)?.Value,
            SearchFilter.Attributes => key switch
            {
                "name" => v.Name,
                "run_id" => v.RunId,
                "source" => v.Source,
                "version_number" => double.Parse(v.Version, System.Globalization.CultureInfo.InvariantCulture),
                "current_stage" => v.CurrentStage,
                _ => throw new InvalidField("filter", $"model versions have no attribute {Guard.Shown(key)} (name, run_id, source, version_number, current_stage)"),
            },
            _ => throw new InvalidField("filter", "model versions are searched by attributes and tags"),
        };
    }

    private static IResult Refused(string reason) => throw new Commanding.Refused(reason);

    private static int VersionOf(string? version) =>
        int.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0
            ? v : throw new InvalidField("version", $"{Guard.Shown(version)} is no version number");

    /// <summary>The run's artifact path a version's source names: <c>runs:/&lt;run&gt;/&lt;path&gt;</c> or the run's
    /// <c>mlflow-artifacts:/&lt;experiment&gt;/&lt;run&gt;/artifacts/&lt;path&gt;</c>.</summary>
    private static string PathIn(string source, Guid runId)
    {
        var run = runId.ToString("N");
        if (source.StartsWith($"runs:/{run}/", StringComparison.Ordinal)) return source[$"runs:/{run}/".Length..];
        var marker = $"/{run}/artifacts/";
        var at = source.IndexOf(marker, StringComparison.Ordinal);
        return source.StartsWith("mlflow-artifacts:/", StringComparison.Ordinal) && at > 0
            ? source[(at + marker.Length)..]
            : throw new InvalidField("source", $"must be runs:/{run}/<path> or the run's mlflow-artifacts URI, where its model was uploaded");
    }

    private static async Task<IReadOnlyList<ModelVersion>> VersionsAsync(IQuerySession session, string name, CancellationToken ct) =>
        await session.Query<ModelVersion>().Where(v => v.ModelName == name).OrderBy(v => v.Version).ToListAsync(ct);

    private static async Task<ModelVersion> VersionAsync(IQuerySession session, string? name, string? version, CancellationToken ct)
    {
        var model = Guard.Required("name", name);
        return await session.LoadAsync<ModelVersion>(StreamKeys.ModelVersion(model, VersionOf(version)), ct)
               ?? throw new NotFound("model version", $"{model}@{version}");
    }

    private static async Task<MlflowRegisteredModel> ModelAsync(IQuerySession session, string name, CancellationToken ct)
    {
        var record = await session.LoadAsync<RegisteredModel>(RegisteredModel.Stream(name), ct);
        var versions = await VersionsAsync(session, name, ct);
        if (record is null && versions.Count == 0) throw new NotFound("registered model", name);
        var created = record?.CreatedAt ?? versions[0].RegisteredAt;
        var updated = new[] { record?.UpdatedAt ?? created }.Concat(versions.Select(LastChange)).Max();
        return new MlflowRegisteredModel(name, created.ToUnixTimeMilliseconds(), updated.ToUnixTimeMilliseconds(), record?.CreatedBy ?? versions[0].RegisteredBy,
            record?.Description ?? "", [.. versions.GroupBy(v => v.Stage).Select(g => Shape(g.MaxBy(v => v.Version)!))],
            [.. (record?.Tags ?? new Dictionary<string, string>()).Select(t => new MlflowTag(t.Key, t.Value))],
            [.. versions.SelectMany(v => v.Aliases.Select(a => new MlflowAlias(a, v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))))]);
    }

    private static DateTimeOffset LastChange(ModelVersion v) =>
        new[] { v.RegisteredAt }.Concat(v.StageHistory.Select(s => s.At)).Concat(v.AliasHistory.Select(a => a.At)).Concat(v.Approvals.Select(a => a.At)).Max();

    public static string Stage(ModelStage stage) => stage.ToString();

    private static MlflowModelVersion Shape(ModelVersion v) => new(v.ModelName, v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
        v.RegisteredAt.ToUnixTimeMilliseconds(), LastChange(v).ToUnixTimeMilliseconds(), v.RegisteredBy, Stage(v.Stage),
        string.Join("; ", v.Approvals.Select(a => $"approved by {a.By}{(a.Comment is { } c ? $": {c}" : "")}")), v.Source ?? v.ArtifactUri, v.RunId.ToString("N"),
        "READY", [], v.Aliases);
}
