using System.Text.Json.Serialization;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using Marten;
using Microsoft.AspNetCore.Http.Features;
using Wolverine;

namespace EventMlOps.ControlPlane.Training;

/// <summary>One tracking call, whatever its MLflow shape: becomes one <see cref="TrainingRunLogged"/> event. Sent by a
/// trainer with its run-scoped token, or an agent.</summary>
[EventMlOps.Contracts.SentBy(EventMlOps.Contracts.Roles.Agent)]
public sealed record LogToRun(
    Guid CommandId,
    Guid RunId,
    IReadOnlyList<MetricPoint> Metrics,
    IReadOnlyDictionary<string, string> Params,
    IReadOnlyDictionary<string, string> Tags) : EventMlOps.Contracts.ICommand, IRunScoped;

public static class LogToRunHandler
{
    public static async Task<CommandAccepted> Handle(LogToRun command, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var stream = StreamKeys.Run(command.RunId);
        var tracked = await session.StateAsync<RunTracking>(stream, null, ct);
        return await session.DecideAsync<TrainingRun>(command, stream, run => TrainingDecisions.Log(run, tracked, command, time.GetUtcNow()));
    }
}

// MLflow REST shapes (https://mlflow.org/docs/latest/rest-api.html), snake_case on the wire.
public sealed record MlflowMetric(string Key, double Value, long Timestamp, long? Step);
public sealed record MlflowParam(string Key, string Value);
public sealed record LogBatchRequest(string? RunId, string? RunUuid, IReadOnlyList<MlflowMetric>? Metrics, IReadOnlyList<MlflowParam>? Params, IReadOnlyList<MlflowParam>? Tags);
public sealed record LogMetricRequest(string? RunId, string? RunUuid, string Key, double Value, long Timestamp, long? Step);
public sealed record KeyValueRequest(string? RunId, string? RunUuid, string Key, string Value);
public sealed record UpdateRunRequest(string? RunId, string? RunUuid, string? Status, long? EndTime);

public sealed record MlflowRunInfo(string RunId, string RunUuid, string RunName, string ExperimentId, string UserId, string Status, long StartTime, long? EndTime, string ArtifactUri, string LifecycleStage);
public sealed record MlflowRunData(IReadOnlyList<MlflowMetric> Metrics, IReadOnlyList<MlflowParam> Params, IReadOnlyList<MlflowParam> Tags);
public sealed record MlflowRun(MlflowRunInfo Info, MlflowRunData Data);

/// <summary>The tracking API under MLflow's routes and shapes, so an MLflow client (or our trainers) can log to a run.
/// Authorised by the run's own scoped token (or an agent/admin token); errors use MLflow's <c>error_code</c> form.</summary>
public static class Tracking
{
    private const int MaxMetrics = 1000, MaxParams = 100, MaxTags = 100; // MLflow's log-batch limits
    private const long MaxTrackingBytes = 1024 * 1024;

    private static readonly System.Text.Json.JsonSerializerOptions Wire = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static void MapTracking(this IEndpointRouteBuilder app)
    {
        var mlflow = app.MapGroup("/api/2.0/mlflow/runs")
            .RequireAuthorization(p => p.RequireAuthenticatedUser())
            .AddEndpointFilter(AsMlflowErrors)
            .WithTags("tracking (MLflow REST)");

        mlflow.MapPost("/log-batch", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<LogBatchRequest>(http, ct);
            if (r.Metrics?.Count > MaxMetrics || r.Params?.Count > MaxParams || r.Tags?.Count > MaxTags)
                throw new InvalidField("metrics/params/tags", $"a batch holds at most {MaxMetrics} metrics, {MaxParams} params and {MaxTags} tags");
            return await Log(http, bus, RunOf(r.RunId, r.RunUuid), r.Metrics ?? [], ToDictionary(r.Params, "params"), ToDictionary(r.Tags, "tags"), ct);
        });
        mlflow.MapPost("/log-metric", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<LogMetricRequest>(http, ct);
            return await Log(http, bus, RunOf(r.RunId, r.RunUuid), [new MlflowMetric(r.Key, r.Value, r.Timestamp, r.Step)], Empty, Empty, ct);
        });
        mlflow.MapPost("/log-parameter", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<KeyValueRequest>(http, ct);
            return await Log(http, bus, RunOf(r.RunId, r.RunUuid), [], new Dictionary<string, string> { [r.Key] = r.Value }, Empty, ct);
        });
        mlflow.MapPost("/set-tag", async (HttpContext http, IMessageContext bus, CancellationToken ct) =>
        {
            var r = await Read<KeyValueRequest>(http, ct);
            return await Log(http, bus, RunOf(r.RunId, r.RunUuid), [], Empty, new Dictionary<string, string> { [r.Key] = r.Value }, ct);
        });
        // The run's lifecycle belongs to the agent's facts; the tracker's own view of it is kept as tags.
        mlflow.MapPost("/update", async (HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var r = await Read<UpdateRunRequest>(http, ct);
            var runId = RunOf(r.RunId, r.RunUuid);
            var tags = new Dictionary<string, string>();
            if (r.Status is { } status) tags["mlflow.reportedStatus"] = status;
            if (r.EndTime is { } end) tags["mlflow.reportedEndTime"] = end.ToString();
            await Log(http, bus, runId, [], Empty, tags, ct);
            var run = await Load(session, runId, http, ct);
            return Json(new { run_info = Info(run) });
        });
        mlflow.MapGet("/get", async (string? run_id, string? run_uuid, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            var run = await Load(session, RunOf(run_id, run_uuid), http, ct);
            var tracked = await session.StateAsync<RunTracking>(run.Id, null, ct) ?? new RunTracking(run.Id, run.RunId);
            var latest = tracked.MetricHistory.GroupBy(m => m.Key)
                .Select(g => g.OrderBy(m => m.Step).ThenBy(m => m.Timestamp).Last())
                .Select(m => new MlflowMetric(m.Key, m.Value, m.Timestamp, m.Step)).ToList();
            return Json(new
            {
                run = new MlflowRun(Info(run), new MlflowRunData(latest,
                    [.. tracked.Params.Select(p => new MlflowParam(p.Key, p.Value))], [.. tracked.Tags.Select(t => new MlflowParam(t.Key, t.Value))])),
            });
        });
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    private static async Task<IResult> Log(HttpContext http, IMessageContext bus, Guid runId, IReadOnlyList<MlflowMetric> metrics,
        IReadOnlyDictionary<string, string> parameters, IReadOnlyDictionary<string, string> tags, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var points = metrics.Select(m => new MetricPoint(m.Key, m.Value, m.Step ?? 0, m.Timestamp > 0 ? m.Timestamp : now)).ToList();
        await CommandRoutes.SendAsync(new LogToRun(Guid.NewGuid(), runId, points, parameters, tags), CommandRoutes.Bearer(http.Request), http, bus,
            http.RequestServices.GetRequiredService<IDocumentStore>(), ct);
        return Json(new { });
    }

    private static async Task<TrainingRun> Load(IQuerySession session, Guid runId, HttpContext http, CancellationToken ct)
    {
        var actor = Actor.From(http.User);
        if (actor.Run is { } scoped ? scoped != runId : actor.Roles.Count == 0)
            throw new Forbidden(actor.Run is null ? $"{actor.Name} has no role" : $"{actor.Name} holds a token for run {actor.Run:N} only");
        return await session.LoadAsync<TrainingRun>(StreamKeys.Run(runId), ct) ?? throw new NotFound("run", runId.ToString("N"));
    }

    private static MlflowRunInfo Info(TrainingRun run) => new(
        run.RunId.ToString("N"), run.RunId.ToString("N"), run.ModelName, "0", run.RequestedBy,
        run.Status switch
        {
            RunStatus.Requested or RunStatus.Submitted => "SCHEDULED",
            RunStatus.Running => "RUNNING",
            RunStatus.Succeeded => "FINISHED",
            RunStatus.Failed => "FAILED",
            _ => "KILLED",
        },
        (run.StartedAt ?? run.RequestedAt).ToUnixTimeMilliseconds(), run.FinishedAt?.ToUnixTimeMilliseconds(),
        run.ArtifactUri ?? "", "active");

    private static Guid RunOf(string? runId, string? runUuid) =>
        Guid.TryParse(runId ?? runUuid, out var id) && id != Guid.Empty ? id : throw new InvalidField("run_id", $"{Guard.Shown(runId ?? runUuid)} is not a run id");

    private static Dictionary<string, string> ToDictionary(IReadOnlyList<MlflowParam>? pairs, string field)
    {
        var result = new Dictionary<string, string>();
        foreach (var p in pairs ?? [])
            if (!result.TryAdd(p.Key, p.Value))
                throw new InvalidField($"{field}.{p.Key}", "appears twice in one batch");
        return result;
    }

    /// <summary>A tracking call's body: JSON (else 415), at most <see cref="MaxTrackingBytes"/> (else 413).</summary>
    private static async Task<T> Read<T>(HttpContext http, CancellationToken ct)
    {
        if (!http.Request.HasJsonContentType())
            throw new BadHttpRequestException("tracking calls take a JSON body (Content-Type: application/json)", StatusCodes.Status415UnsupportedMediaType);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = MaxTrackingBytes;
        try
        {
            return await http.Request.ReadFromJsonAsync<T>(Wire, ct) ?? throw new InvalidField("$", "the body is empty");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidField(e.Path ?? "$", e.Message);
        }
    }

    private static IResult Json(object body) => Results.Json(body, Wire);

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
                400 => "INVALID_PARAMETER_VALUE",
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "RESOURCE_DOES_NOT_EXIST",
                _ => "INVALID_STATE",
            };
            return Results.Json(new { error_code = code, message = problem.Detail }, Wire, statusCode: problem.Status);
        }
    }
}
