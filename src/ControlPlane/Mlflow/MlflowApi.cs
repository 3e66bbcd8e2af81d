using System.Text.Json;
using System.Text.Json.Serialization;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Training;
using Marten;
using Microsoft.AspNetCore.Http.Features;
using Wolverine;

namespace EventMlOps.ControlPlane.Mlflow;

// MLflow REST shapes (https://mlflow.org/docs/latest/rest-api.html), snake_case on the wire.
public sealed record MlflowMetric(string Key, double Value, long Timestamp, long? Step);
public sealed record MlflowTag(string Key, string Value);
public sealed record LogBatchRequest(string? RunId, string? RunUuid, IReadOnlyList<MlflowMetric>? Metrics, IReadOnlyList<MlflowTag>? Params, IReadOnlyList<MlflowTag>? Tags);
public sealed record LogMetricRequest(string? RunId, string? RunUuid, string? Key, double Value, long? Timestamp, long? Step);
public sealed record KeyValueRequest(string? RunId, string? RunUuid, string? Key, string? Value);
public sealed record UpdateRunRequest(string? RunId, string? RunUuid, string? Status, long? EndTime, string? RunName);
public sealed record RunRequest(string? RunId, string? RunUuid);
public sealed record LogModelRequest(string? RunId, string? RunUuid, string? ModelJson);
public sealed record MlflowDataset(string? Name, string? Digest, string? SourceType, string? Source, string? Schema = null, string? Profile = null);
public sealed record MlflowDatasetInput(IReadOnlyList<MlflowTag>? Tags, MlflowDataset? Dataset);
public sealed record LogInputsRequest(string? RunId, IReadOnlyList<MlflowDatasetInput>? Datasets);
public sealed record CreateRunRequest(string? ExperimentId, string? UserId, string? RunName, long? StartTime, IReadOnlyList<MlflowTag>? Tags);
public sealed record SearchRunsRequest(IReadOnlyList<string>? ExperimentIds, string? Filter, string? RunViewType, int? MaxResults, IReadOnlyList<string>? OrderBy,
    string? PageToken);
public sealed record CreateExperimentRequest(string? Name, string? ArtifactLocation, IReadOnlyList<MlflowTag>? Tags);
public sealed record ExperimentRequest(string? ExperimentId, string? NewName, string? Key, string? Value);
public sealed record SearchExperimentsRequest(int? MaxResults, string? PageToken, string? Filter, IReadOnlyList<string>? OrderBy, string? ViewType);

public sealed record MlflowRunInfo(string RunId, string RunUuid, string RunName, string ExperimentId, string UserId, string Status, long StartTime, long? EndTime,
    string ArtifactUri, string LifecycleStage);
public sealed record MlflowRunData(IReadOnlyList<MlflowMetric> Metrics, IReadOnlyList<MlflowTag> Params, IReadOnlyList<MlflowTag> Tags);
public sealed record MlflowRunInputs(IReadOnlyList<MlflowDatasetInput> DatasetInputs);
public sealed record MlflowRun(MlflowRunInfo Info, MlflowRunData Data, MlflowRunInputs Inputs);
public sealed record MlflowExperiment(string ExperimentId, string Name, string ArtifactLocation, string LifecycleStage, long CreationTime, long LastUpdateTime,
    IReadOnlyList<MlflowTag> Tags);
public sealed record CreateExperimentResponse(string ExperimentId);
public sealed record ExperimentResponse(MlflowExperiment Experiment);
public sealed record SearchExperimentsResponse(IReadOnlyList<MlflowExperiment> Experiments, string? NextPageToken);
public sealed record RunResponse(MlflowRun Run);
public sealed record UpdateRunResponse(MlflowRunInfo RunInfo);
public sealed record SearchRunsResponse(IReadOnlyList<MlflowRun> Runs, string? NextPageToken);
public sealed record MetricHistoryResponse(IReadOnlyList<MlflowMetric> Metrics, string? NextPageToken);
public sealed record MlflowEmpty;
public sealed record MlflowError(string ErrorCode, string Message);

/// <summary>MLflow's REST API 2.0 (experiments, runs, search, metric history) at <c>/api/2.0/mlflow</c> and
/// <c>/ajax-api/2.0/mlflow</c>, so MLflow clients work unchanged. Every write is a command through the gate, recorded as
/// events (a person's script starts a run of our model, <see cref="TrackedRunStarted"/>); reads need a role, or a
/// trainer's run token for its own run. Errors, 401 and 403 included, answer MLflow's <c>{"error_code", "message"}</c>.</summary>
public static class MlflowApi
{
    private const int MaxMetrics = 1000, MaxParams = 100, MaxTags = 100; // MLflow's log-batch limits
    private const long MaxBodyBytes = 1024 * 1024;
    private const int MaxRunResults = 50_000, MaxExperimentResults = 50_000, MaxHistory = 25_000;
    public const int MaxScanned = 10_000;

    public static readonly string[] Prefixes = ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"];
    private static readonly string[] ArtifactPrefixes = ["/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"];

    private const string JsonType = "application/json";

    /// <summary>The tag MLflow puts on a dataset input to say what it was for (training, evaluation …).</summary>
    private const string ContextTag = "mlflow.data.context";

    /// <summary>Documents the JSON body a route reads itself (<see cref="Read{T}"/>) without <c>Accepts</c>' content-type
    /// routing, which would send a wrong media type to the catch-all's 404 instead of a 415 that says why.</summary>
    private static RouteHandlerBuilder Takes<T>(this RouteHandlerBuilder route) => route.AddOpenApiOperationTransformer(async (operation, context, ct) =>
        operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType>
            {
                [JsonType] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(T), null, ct) },
            },
        });

    /// <summary>Protobuf's JSON: int64 may come as strings, NaN and ±Infinity as "NaN", "Infinity", "-Infinity".</summary>
    private static readonly JsonSerializerOptions Wire = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "run's", as MLflow writes it: no page renders this JSON as HTML
    };

    public static bool IsMlflowPath(PathString path) => Prefixes.Concat(ArtifactPrefixes).Any(p => path.StartsWithSegments(p));

    public static void MapMlflow(this IEndpointRouteBuilder app)
    {
        var serving = RunArtifacts.Serving(app.ServiceProvider.GetRequiredService<IConfiguration>());
        foreach (var prefix in ArtifactPrefixes)
        {
            var group = app.MapGroup(prefix).RequireAuthorization(p => p.RequireAuthenticatedUser()).AddEndpointFilter(AsMlflowErrors)
                .WithTags("MLflow artifacts proxy");
            if (prefix != ArtifactPrefixes[0]) group.ExcludeFromDescription();
            if (serving) RunArtifacts.Map(group);
            else group.Map("/{**route}", () => Error(404, "ENDPOINT_NOT_FOUND", $"this control plane serves no artifacts ({RunArtifacts.Setting}=true serves them; ./emo up sets it)"))
                .ExcludeFromDescription();
        }
        foreach (var prefix in Prefixes)
        {
            var group = app.MapGroup(prefix).RequireAuthorization(p => p.RequireAuthenticatedUser()).AddEndpointFilter(AsMlflowErrors)
                .WithTags("MLflow REST API 2.0")
                .WithMetadata([.. ((int[])[400, 401, 403, 404, 409, 422]).Select(status => new ProducesResponseTypeMetadata(status, typeof(MlflowError), [JsonType]))]);
            if (prefix != Prefixes[0]) group.ExcludeFromDescription(); // the MLflow UI's twin of the same routes
            MapExperiments(group.MapGroup("/experiments"));
            MapRuns(group.MapGroup("/runs"));
            MlflowRegistry.Map(group, Reader, (http, bus, command, ct) => Send(http, bus, command, ct));
            group.MapGet("/metrics/get-history", async (string? run_id, string? run_uuid, string? metric_key, string? page_token, int? max_results,
                HttpContext http, IQuerySession session, CancellationToken ct) =>
            {
                var (_, tracked) = await LoadRunAsync(session, RunOf(run_id, run_uuid), http, ct);
                var key = Guard.Key("metric_key", metric_key);
                var (page, next) = SearchFilter.Page(tracked.MetricHistory.Where(m => m.Key == key).ToList(), max_results, page_token, MaxHistory);
                return Json(new MetricHistoryResponse([.. page.Select(Metric)], next));
            }).Produces<MetricHistoryResponse>();
            group.MapGet("/artifacts/list", async (string? run_id, string? run_uuid, string? path, string? page_token, HttpContext http, IQuerySession session,
                CancellationToken ct) =>
            {
                var (run, tracked) = await LoadRunAsync(session, RunOf(run_id, run_uuid), http, ct);
                var folder = string.IsNullOrEmpty(path) ? "" : RunArtifacts.ValidPath(path.TrimEnd('/'));
                var (page, next) = SearchFilter.Page(RunArtifacts.List(tracked, folder, folder.Length == 0 ? "" : folder + "/"), null, page_token, MaxHistory);
                return Json(new ListRunArtifactsResponse(RunArtifacts.Uri(run, ServesArtifacts(http)), page, next));
            }).Produces<ListRunArtifactsResponse>();
            group.Map("/{**route}", (string? route) =>
                Error(404, "ENDPOINT_NOT_FOUND", $"no MLflow route {Guard.Shown(route)} here; the supported routes are listed in the README"))
                .ExcludeFromDescription();
        }
    }

    private static void MapExperiments(RouteGroupBuilder experiments)
    {
        experiments.MapPost("/create", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<CreateExperimentRequest>(http, ct);
            var id = Experiments.NewId();
            await Send(http, bus, new CreateExperiment(Guid.NewGuid(), id, r.Name ?? "", r.ArtifactLocation, Pairs(r.Tags, "tags")), ct);
            return Json(new CreateExperimentResponse(id));
        }).Takes<CreateExperimentRequest>().Produces<CreateExperimentResponse>();
        experiments.MapGet("/get", async (string? experiment_id, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            Reader(http);
            return Json(new ExperimentResponse(Shape(await Experiments.LoadAsync(session, experiment_id, ct) ?? throw new NotFound("experiment", experiment_id ?? ""))));
        }).Produces<ExperimentResponse>();
        experiments.MapGet("/get-by-name", async (string? experiment_name, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            Reader(http);
            var name = Experiments.ValidName("experiment_name", experiment_name);
            return Json(new ExperimentResponse(Shape(await Experiments.ByNameAsync(session, name, ct) ?? throw new NotFound("experiment", name))));
        }).Produces<ExperimentResponse>();
        experiments.MapPost("/search", async (HttpContext http, IQuerySession session, CancellationToken ct) =>
            await SearchExperimentsAsync(await Read<SearchExperimentsRequest>(http, ct), http, session, ct))
            .Takes<SearchExperimentsRequest>().Produces<SearchExperimentsResponse>();
        experiments.MapGet("/search", (int? max_results, string? page_token, string? filter, string? view_type, HttpContext http, IQuerySession session,
            CancellationToken ct) => SearchExperimentsAsync(new SearchExperimentsRequest(max_results, page_token, filter, [.. http.Request.Query["order_by"].OfType<string>()], view_type),
            http, session, ct)).Produces<SearchExperimentsResponse>();
        experiments.MapGet("/list", (string? view_type, HttpContext http, IQuerySession session, CancellationToken ct) => // MLflow 1.x, still sent by older clients
            SearchExperimentsAsync(new SearchExperimentsRequest(MaxExperimentResults, null, null, null, view_type), http, session, ct))
            .Produces<SearchExperimentsResponse>();
        Change(experiments, "/update", r => new ChangeExperiment(Guid.NewGuid(), Id(r), NewName: r.NewName ?? ""));
        Change(experiments, "/delete", r => new ChangeExperiment(Guid.NewGuid(), Id(r), Stage: Experiments.Deleted));
        Change(experiments, "/restore", r => new ChangeExperiment(Guid.NewGuid(), Id(r), Stage: Experiments.Active));
        Change(experiments, "/set-experiment-tag", r => new ChangeExperiment(Guid.NewGuid(), Id(r), TagKey: r.Key, TagValue: r.Value ?? ""));

        static string Id(ExperimentRequest r) => Guard.Required("experiment_id", r.ExperimentId);
        static void Change(RouteGroupBuilder g, string route, Func<ExperimentRequest, ChangeExperiment> command) =>
            g.MapPost(route, async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
            {
                await Send(http, bus, command(await Read<ExperimentRequest>(http, ct)), ct);
                return Json(new MlflowEmpty());
            }).Takes<ExperimentRequest>().Produces<MlflowEmpty>();
    }

    private static void MapRuns(RouteGroupBuilder runs)
    {
        runs.MapPost("/create", async (HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var r = await Read<CreateRunRequest>(http, ct);
            var runId = Guid.NewGuid();
            var tags = Pairs(r.Tags, "tags");
            // The run's user is the token's, whatever the client's machine calls itself.
            tags[TrackedRuns.UserTag] = Actor.From(http.User).Name;
            tags["mlflow.runName"] = r.RunName ?? tags.GetValueOrDefault("mlflow.runName") ?? $"run-{runId.ToString("N")[..8]}";
            await Send(http, bus, new StartTrackedRun(Guid.NewGuid(), runId, r.ExperimentId ?? Experiments.DefaultId, r.StartTime, tags), ct);
            return Json(new RunResponse(await RunAsync(session, runId, http, ct)));
        }).Takes<CreateRunRequest>().Produces<RunResponse>();
        runs.MapGet("/get", async (string? run_id, string? run_uuid, HttpContext http, IQuerySession session, CancellationToken ct) =>
            Json(new RunResponse(await RunAsync(session, RunOf(run_id, run_uuid), http, ct)))).Produces<RunResponse>();
        runs.MapPost("/search", async (HttpContext http, IQuerySession session, CancellationToken ct) =>
            await SearchRunsAsync(await Read<SearchRunsRequest>(http, ct), http, session, ct)).Takes<SearchRunsRequest>().Produces<SearchRunsResponse>();
        runs.MapPost("/update", async (HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var r = await Read<UpdateRunRequest>(http, ct);
            var runId = RunOf(r.RunId, r.RunUuid);
            var (run, _) = await LoadRunAsync(session, runId, http, ct);
            if (r.RunName is { } name) await Log(http, bus, runId, [], Empty, new Dictionary<string, string> { ["mlflow.runName"] = name }, ct);
            if (run.TrainerKind == TrainingRun.Tracked)
                await Send(http, bus, new ChangeTrackedRun(Guid.NewGuid(), runId, Status: r.Status, EndTime: r.EndTime), ct);
            else if (r.Status is not null || r.EndTime is not null)
            {
                // A launched run's lifecycle belongs to its agent's facts; the trainer's own view of it is kept as tags.
                var tags = new Dictionary<string, string>();
                if (r.Status is { } status) tags["mlflow.reportedStatus"] = status;
                if (r.EndTime is { } end) tags["mlflow.reportedEndTime"] = end.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Log(http, bus, runId, [], Empty, tags, ct);
            }
            return Json(new UpdateRunResponse((await RunAsync(session, runId, http, ct)).Info));
        }).Takes<UpdateRunRequest>().Produces<UpdateRunResponse>();
        ChangeRun(runs, "/delete", r => new ChangeTrackedRun(Guid.NewGuid(), RunOf(r.RunId, r.RunUuid), Stage: Experiments.Deleted));
        ChangeRun(runs, "/restore", r => new ChangeTrackedRun(Guid.NewGuid(), RunOf(r.RunId, r.RunUuid), Stage: Experiments.Active));
        runs.MapPost("/delete-tag", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<KeyValueRequest>(http, ct);
            await Send(http, bus, new ChangeTrackedRun(Guid.NewGuid(), RunOf(r.RunId, r.RunUuid), DeleteTag: r.Key ?? ""), ct);
            return Json(new MlflowEmpty());
        }).Takes<KeyValueRequest>().Produces<MlflowEmpty>();
        runs.MapPost("/log-batch", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<LogBatchRequest>(http, ct);
            if (r.Metrics?.Count > MaxMetrics || r.Params?.Count > MaxParams || r.Tags?.Count > MaxTags)
                throw new InvalidField("metrics/params/tags", $"a batch holds at most {MaxMetrics} metrics, {MaxParams} params and {MaxTags} tags");
            return await Log(http, bus, RunOf(r.RunId, r.RunUuid), r.Metrics ?? [], Pairs(r.Params, "params"), Pairs(r.Tags, "tags"), ct);
        }).Takes<LogBatchRequest>().Produces<MlflowEmpty>();
        runs.MapPost("/log-metric", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<LogMetricRequest>(http, ct);
            return await Log(http, bus, RunOf(r.RunId, r.RunUuid), [new MlflowMetric(r.Key ?? "", r.Value, r.Timestamp ?? 0, r.Step)], Empty, Empty, ct);
        }).Takes<LogMetricRequest>().Produces<MlflowEmpty>();
        runs.MapPost("/log-model", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<LogModelRequest>(http, ct);
            await Send(http, bus, new LogToRun(Guid.NewGuid(), RunOf(r.RunId, r.RunUuid), [], Empty, Empty, Guard.Required("model_json", r.ModelJson)), ct);
            return Json(new MlflowEmpty());
        }).Takes<LogModelRequest>().Produces<MlflowEmpty>();
        runs.MapPost("/log-inputs", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<LogInputsRequest>(http, ct);
            var inputs = (r.Datasets ?? []).Select(d => new RunInputClaim(d.Dataset?.Name, d.Dataset?.Digest, d.Dataset?.SourceType, d.Dataset?.Source,
                d.Tags?.FirstOrDefault(t => t.Key == ContextTag)?.Value)).ToList();
            await Send(http, bus, new LogRunInputs(Guid.NewGuid(), RunOf(r.RunId, null), inputs), ct);
            return Json(new MlflowEmpty());
        }).Takes<LogInputsRequest>().Produces<MlflowEmpty>();
        runs.MapPost("/log-parameter", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<KeyValueRequest>(http, ct);
            return await Log(http, bus, RunOf(r.RunId, r.RunUuid), [], One(r), Empty, ct);
        }).Takes<KeyValueRequest>().Produces<MlflowEmpty>();
        runs.MapPost("/set-tag", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<KeyValueRequest>(http, ct);
            return await Log(http, bus, RunOf(r.RunId, r.RunUuid), [], Empty, One(r), ct);
        }).Takes<KeyValueRequest>().Produces<MlflowEmpty>();

        static Dictionary<string, string> One(KeyValueRequest r) => new() { [r.Key ?? ""] = r.Value ?? "" };
        static void ChangeRun(RouteGroupBuilder g, string route, Func<RunRequest, ChangeTrackedRun> command) =>
            g.MapPost(route, async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
            {
                await Send(http, bus, command(await Read<RunRequest>(http, ct)), ct);
                return Json(new MlflowEmpty());
            }).Takes<RunRequest>().Produces<MlflowEmpty>();
    }

    private static async Task<IResult> SearchExperimentsAsync(SearchExperimentsRequest r, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        Reader(http);
        var clauses = SearchFilter.Parse(r.Filter, (entity, key) => entity == SearchFilter.Attributes && key is "creation_time" or "last_update_time");
        var stages = Stages(r.ViewType, "view_type");
        var all = await session.Query<Experiment>().Take(MaxScanned + 1).ToListAsync(ct);
        if (all.Count > MaxScanned) throw new InvalidField("filter", $"more than {MaxScanned} experiments: this server searches at most {MaxScanned}");
        var matching = all.Prepend(Experiments.Default).Where(e => stages.Contains(e.Stage) && SearchFilter.Matches(clauses, (entity, key) => Value(e, entity, key)));
        var orders = SearchFilter.Order(r.OrderBy);
        var sorted = SearchFilter.Sort(matching, orders.Count > 0 ? orders : [(SearchFilter.Attributes, "last_update_time", true)], Value, e => e.ExperimentId);
        var (page, next) = SearchFilter.Page(sorted, r.MaxResults, r.PageToken, MaxExperimentResults);
        return Json(new SearchExperimentsResponse([.. page.Select(Shape)], next));

        static object? Value(Experiment e, string entity, string key) => entity switch
        {
            SearchFilter.Tags => e.Tags.GetValueOrDefault(key),
            SearchFilter.Attributes => key switch
            {
                "name" => e.Name,
                "experiment_id" => e.ExperimentId,
                "creation_time" => (double)e.CreatedAt.ToUnixTimeMilliseconds(),
                "last_update_time" => (double)e.UpdatedAt.ToUnixTimeMilliseconds(),
                _ => throw new InvalidField("filter", $"experiments have no attribute {Guard.Shown(key)} (name, experiment_id, creation_time, last_update_time)"),
            },
            _ => throw new InvalidField("filter", "experiments are searched by attributes and tags"),
        };
    }

    private static async Task<IResult> SearchRunsAsync(SearchRunsRequest r, HttpContext http, IQuerySession session, CancellationToken ct)
    {
        Reader(http);
        var ids = r.ExperimentIds is { Count: > 0 and <= 100 } given ? given.Select(string? (id) => id).ToList()
            : throw new InvalidField("experiment_ids", "names 1 to 100 experiments to search");
        var clauses = SearchFilter.Parse(r.Filter, (entity, key) => entity == SearchFilter.Metrics || (entity == SearchFilter.Attributes && key is "start_time" or "end_time" or "created"));
        var stages = Stages(r.RunViewType, "run_view_type");
        var query = ids.Contains(Experiments.DefaultId)
            ? session.Query<TrainingRun>().Where(x => x.ExperimentId == null || x.ExperimentId.IsOneOf(ids))
            : session.Query<TrainingRun>().Where(x => x.ExperimentId.IsOneOf(ids));
        var runs = await query.Take(MaxScanned + 1).ToListAsync(ct);
        if (runs.Count > MaxScanned) throw new InvalidField("experiment_ids", $"these experiments hold more than {MaxScanned} runs: this server searches at most {MaxScanned}");
        var tracking = (await session.LoadManyAsync<RunTracking>(ct, runs.Select(x => x.Id).ToArray())).ToDictionary(t => t.RunId);
        var rows = runs.Where(x => stages.Contains(x.LifecycleStage ?? Experiments.Active))
            .Select(x => Shape(x, tracking.GetValueOrDefault(x.RunId) ?? new RunTracking(x.Id, x.RunId), ServesArtifacts(http)))
            .Where(x => SearchFilter.Matches(clauses, (entity, key) => Value(x, entity, key)));
        var orders = SearchFilter.Order(r.OrderBy);
        var sorted = SearchFilter.Sort(rows, orders.Count > 0 ? orders : [(SearchFilter.Attributes, "start_time", true)], Value, x => x.Info.RunId);
        var (page, next) = SearchFilter.Page(sorted, r.MaxResults, r.PageToken, MaxRunResults);
        return Json(new SearchRunsResponse(page, next));

        static object? Value(MlflowRun run, string entity, string key) => entity switch
        {
            SearchFilter.Metrics => run.Data.Metrics.FirstOrDefault(m => m.Key == key)?.Value,
            SearchFilter.Params => run.Data.Params.FirstOrDefault(p => p.Key == key)?.Value,
            SearchFilter.Tags => run.Data.Tags.FirstOrDefault(t => t.Key == key)?.Value,
            _ => key switch
            {
                "run_id" => run.Info.RunId,
                "run_name" => run.Info.RunName,
                "status" => run.Info.Status,
                "user_id" => run.Info.UserId,
                "artifact_uri" => run.Info.ArtifactUri,
                "start_time" or "created" => (double)run.Info.StartTime,
                "end_time" => run.Info.EndTime is { } end ? (double)end : null,
                _ => throw new InvalidField("filter", $"runs have no attribute {Guard.Shown(key)} (run_id, run_name, status, user_id, artifact_uri, start_time, end_time)"),
            },
        };
    }

    private static IReadOnlyList<string> Stages(string? viewType, string field) => viewType switch
    {
        null or "" or "ACTIVE_ONLY" or "1" => [Experiments.Active],
        "DELETED_ONLY" or "2" => [Experiments.Deleted],
        "ALL" or "3" => [Experiments.Active, Experiments.Deleted],
        _ => throw new InvalidField(field, "must be ACTIVE_ONLY, DELETED_ONLY or ALL"),
    };

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    private static async Task<IResult> Log(HttpContext http, IMessageContext bus, Guid runId, IReadOnlyList<MlflowMetric> metrics,
        IReadOnlyDictionary<string, string> parameters, IReadOnlyDictionary<string, string> tags, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var points = metrics.Select(m => new MetricPoint(m.Key, m.Value, m.Step ?? 0, m.Timestamp > 0 ? m.Timestamp : now)).ToList();
        await Send(http, bus, new LogToRun(Guid.NewGuid(), runId, points, parameters, tags), ct);
        return Json(new MlflowEmpty());
    }

    private static Task<CommandAccepted> Send(HttpContext http, IMessageContext bus, ICommand command, CancellationToken ct) =>
        CommandRoutes.SendAsync(command, CommandRoutes.Bearer(http.Request), http, bus, http.RequestServices.GetRequiredService<IDocumentStore>(), ct);

    /// <summary>Queries need a role (a viewer's is enough); a trainer's run token reads only its own run.</summary>
    private static Actor Reader(HttpContext http)
    {
        var actor = Actor.From(http.User);
        if (actor.IsScoped || actor.Roles.Count == 0)
            throw new Forbidden(actor.Run is { } run ? $"{actor.Name} holds a token for run {run:N} only" : $"{actor.Name} has no role");
        return actor;
    }

    private static async Task<(TrainingRun Run, RunTracking Tracked)> LoadRunAsync(IQuerySession session, Guid runId, HttpContext http, CancellationToken ct)
    {
        if (Actor.From(http.User).Run != runId) Reader(http);
        var run = await session.LoadAsync<TrainingRun>(StreamKeys.Run(runId), ct) ?? throw new NotFound("run", runId.ToString("N"));
        return (run, await session.StateAsync<RunTracking>(run.Id, null, ct) ?? new RunTracking(run.Id, run.RunId));
    }

    private static async Task<MlflowRun> RunAsync(IQuerySession session, Guid runId, HttpContext http, CancellationToken ct)
    {
        var (run, tracked) = await LoadRunAsync(session, runId, http, ct);
        return Shape(run, tracked, ServesArtifacts(http));
    }

    private static bool ServesArtifacts(HttpContext http) => RunArtifacts.Serving(http.RequestServices.GetRequiredService<IConfiguration>());

    /// <summary>A run as MLflow shows it; a run an MLflow client started keeps its artifacts behind the proxy, a launched run's
    /// artifact is its model file.</summary>
    private static MlflowRun Shape(TrainingRun run, RunTracking tracked, bool servesArtifacts)
    {
        var latest = tracked.MetricHistory.GroupBy(m => m.Key).Select(g => Metric(g.OrderBy(m => m.Step).ThenBy(m => m.Timestamp).Last())).ToList();
        var info = new MlflowRunInfo(run.RunId.ToString("N"), run.RunId.ToString("N"), tracked.Tags.GetValueOrDefault("mlflow.runName") ?? run.ModelName,
            run.ExperimentId ?? Experiments.DefaultId, run.RequestedBy,
            run.Status switch
            {
                RunStatus.Requested or RunStatus.Submitted => "SCHEDULED",
                RunStatus.Running => "RUNNING",
                RunStatus.Succeeded => "FINISHED",
                RunStatus.Failed => "FAILED",
                _ => "KILLED",
            },
            (run.StartedAt ?? run.RequestedAt).ToUnixTimeMilliseconds(), run.FinishedAt?.ToUnixTimeMilliseconds(),
            run.TrainerKind == TrainingRun.Tracked ? RunArtifacts.Uri(run, servesArtifacts) : run.ArtifactUri ?? "",
            run.LifecycleStage ?? Experiments.Active);
        return new MlflowRun(info, new MlflowRunData(latest, Tags(tracked.Params), Tags(tracked.Tags)),
            new MlflowRunInputs([.. tracked.Inputs.Select(i => new MlflowDatasetInput(i.Context is { } c ? [new MlflowTag(ContextTag, c)] : [],
                new MlflowDataset(i.Name, i.Digest, i.SourceType, i.Source)))]));
    }

    private static MlflowExperiment Shape(Experiment e) => new(e.ExperimentId, e.Name, e.ArtifactLocation ?? "", e.Stage,
        e.CreatedAt.ToUnixTimeMilliseconds(), e.UpdatedAt.ToUnixTimeMilliseconds(), Tags(e.Tags));

    private static MlflowMetric Metric(MetricPoint m) => new(m.Key, m.Value, m.Timestamp, m.Step);

    private static List<MlflowTag> Tags(IReadOnlyDictionary<string, string> pairs) => [.. pairs.Select(p => new MlflowTag(p.Key, p.Value))];

    private static Guid RunOf(string? runId, string? runUuid) =>
        Guid.TryParse(runId ?? runUuid, out var id) && id != Guid.Empty ? id : throw new InvalidField("run_id", $"{Guard.Shown(runId ?? runUuid)} is not a run id");

    internal static Dictionary<string, string> Pairs(IReadOnlyList<MlflowTag>? pairs, string field)
    {
        var result = new Dictionary<string, string>();
        foreach (var p in pairs ?? [])
            if (!result.TryAdd(Guard.Key($"{field}.key", p.Key), p.Value ?? ""))
                throw new InvalidField($"{field}.{p.Key}", "appears twice in one request");
        return result;
    }

    /// <summary>A call's body: JSON (else 415), at most <see cref="MaxBodyBytes"/> (else 413).</summary>
    internal static async Task<T> Read<T>(HttpContext http, CancellationToken ct)
    {
        if (!http.Request.HasJsonContentType())
            throw new BadHttpRequestException("MLflow calls take a JSON body (Content-Type: application/json)", StatusCodes.Status415UnsupportedMediaType);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = MaxBodyBytes;
        try
        {
            return await http.Request.ReadFromJsonAsync<T>(Wire, ct) ?? throw new InvalidField("$", "the body is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidField(e.Path ?? "$", "is not of the form MLflow's API takes here");
        }
    }

    internal static IResult Json(object body) => Results.Json(body, Wire);

    public static IResult Error(int status, string code, string message) => Results.Json(new MlflowError(code, message), Wire, statusCode: status);

    /// <summary>Writes an MLflow error for the authentication handler's 401 and 403 on these routes.</summary>
    public static Task WriteErrorAsync(HttpContext http, int status, string message) =>
        Error(status, status == 401 ? "UNAUTHENTICATED" : "PERMISSION_DENIED", message).ExecuteAsync(http);

    /// <summary>MLflow clients read <c>{"error_code", "message"}</c>; the statuses stay ours.</summary>
    private static async ValueTask<object?> AsMlflowErrors(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (ProblemMapping.Describe(e) is { } problem)
        {
            var code = problem.Status switch
            {
                400 or 413 or 415 => "INVALID_PARAMETER_VALUE",
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "RESOURCE_DOES_NOT_EXIST",
                409 when problem.Title == "Already exists" => "RESOURCE_ALREADY_EXISTS",
                503 => "TEMPORARILY_UNAVAILABLE",
                _ => "INVALID_STATE",
            };
            return Error(problem.Status ?? 500, code, problem.Detail ?? problem.Title ?? code);
        }
    }
}

/// <summary>The OpenAPI document names the MLflow shapes' fields as they travel: snake_case (<c>run_id</c>), not the rest of
/// the API's camelCase.</summary>
public sealed class MlflowSchemaNames : Microsoft.AspNetCore.OpenApi.IOpenApiSchemaTransformer
{
    public Task TransformAsync(Microsoft.OpenApi.OpenApiSchema schema, Microsoft.AspNetCore.OpenApi.OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        if (context.JsonTypeInfo.Type.Namespace != typeof(MlflowApi).Namespace || schema.Properties is not { Count: > 0 } properties) return Task.CompletedTask;
        string Wire(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);
        schema.Properties = properties.ToDictionary(p => Wire(p.Key), p => p.Value);
        // A request's fields are all optional, as in MLflow's protobuf; the route says which one it misses.
        if (schema.Required is { Count: > 0 } required)
            schema.Required = context.JsonTypeInfo.Type.Name.EndsWith("Request", StringComparison.Ordinal) ? null : required.Select(Wire).ToHashSet();
        return Task.CompletedTask;
    }
}
