using System.Text.RegularExpressions;
using EventMlOps.Artifacts;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Training;
using Marten;
using Microsoft.AspNetCore.Http.Features;
using Wolverine;

namespace EventMlOps.ControlPlane.Mlflow;

/// <summary>An upload through MLflow's artifact proxy, recorded once the control plane stored it. <paramref name="Receipt"/>
/// is the control plane's signed proof that it stored exactly this content for this run and path: without it anyone
/// could record another run's object (known by its sha256) as theirs, then download it.</summary>
[SentBy(Roles.Scientist)]
public sealed record LogRunArtifact(Guid CommandId, Guid RunId, string Path, ArtifactRef Artifact, string Receipt) : ICommand, IRunScoped;

public static class LogRunArtifactHandler
{
    public static async Task<CommandAccepted> Handle(LogRunArtifact c, Actor actor, IDocumentSession session, Tokens tokens, TimeProvider time, CancellationToken ct)
    {
        if (await tokens.GrantScopeAsync(c.Receipt) != RunArtifacts.ReceiptScope(c.RunId, c.Path, c.Artifact))
            throw new Forbidden("an artifact is recorded by the control plane that stored it: this upload receipt is not for this run, path and content");
        var now = time.GetUtcNow();
        return await session.DecideAsync<TrainingRun>(c, StreamKeys.Run(c.RunId), run =>
        {
            var r = TrainingDecisions.Writable(run, c.RunId, actor, now);
            return [new RunArtifactLogged(r.RunId, RunArtifacts.ValidPath(c.Path), c.Artifact, actor.Name, now)];
        });
    }
}

/// <summary>MLflow's artifact proxy (<c>mlflow-artifacts</c>, as <c>mlflow server --serve-artifacts</c> offers it) in front
/// of the content-addressed store: a run's <c>artifact_uri</c> is <c>mlflow-artifacts:/&lt;experiment&gt;/&lt;run&gt;/artifacts</c>;
/// each upload is hashed, stored under its sha256 and recorded as a <see cref="RunArtifactLogged"/> event, and each
/// download is verified against it. On only with <c>Mlflow:ServeArtifacts=true</c> (<c>./emo up</c> sets it): the control
/// plane then holds the store's write access.</summary>
public static partial class RunArtifacts
{
    public const string Setting = "Mlflow:ServeArtifacts";
    private static readonly TimeSpan ReceiptLifetime = TimeSpan.FromMinutes(5);

    public static bool Serving(IConfiguration config) => config.GetValue<bool>(Setting);

    /// <summary>Where an MLflow client puts and finds a run's artifacts ("" when this control plane serves none).</summary>
    public static string Uri(TrainingRun run, bool serving) =>
        serving ? $"mlflow-artifacts:/{run.ExperimentId ?? Experiments.DefaultId}/{run.RunId:N}/artifacts" : "";

    public static string ReceiptScope(Guid runId, string path, ArtifactRef artifact) =>
        $"artifact:{runId:N}:{artifact.Sha256}:{artifact.Size}:{artifact.Uri}:{path}";

    /// <summary>A relative path of segments of letters, digits and <c>._- </c>, none of them <c>.</c> or <c>..</c>.</summary>
    public static string ValidPath(string? path) =>
        path is { Length: > 0 and <= 1024 } && path.Split('/').All(s => s.Length > 0 && s != "." && s != ".." && Segment().IsMatch(s))
            ? path
            : throw new InvalidField("path", $"{Guard.Shown(path)} is no artifact path (relative, '/'-separated names of letters, digits, '.', '_', '-' or ' ')");

    public static void Map(RouteGroupBuilder artifacts)
    {
        artifacts.MapPut("/artifacts/{**path}", async (string path, HttpContext http, IMessageContext bus, IQuerySession session, CancellationToken ct) =>
        {
            var (run, relative) = await RunOfAsync(session, path, http, ct);
            TrainingDecisions.Writable(run, run.RunId, Actor.From(http.User), DateTimeOffset.UtcNow); // before anything is stored
            var stored = await StoreAsync(http, ct);
            var receipt = http.RequestServices.GetRequiredService<Tokens>().IssueGrant(ReceiptScope(run.RunId, relative, stored), ReceiptLifetime);
            await CommandRoutes.SendAsync(new LogRunArtifact(Guid.NewGuid(), run.RunId, relative, stored, receipt), CommandRoutes.Bearer(http.Request), http, bus,
                http.RequestServices.GetRequiredService<IDocumentStore>(), ct);
            return MlflowApi.Json(new MlflowEmpty());
        }).Produces<MlflowEmpty>(); // any media type: MLflow clients send the file's own
        artifacts.MapGet("/artifacts/{**path}", async (string path, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            var (run, relative) = await RunOfAsync(session, path, http, ct);
            var tracked = await session.StateAsync<RunTracking>(run.Id, null, ct);
            if (tracked?.Artifacts.GetValueOrDefault(relative) is not { } artifact) throw new NotFound("artifact", relative);
            var local = await http.RequestServices.GetRequiredService<IArtifactStore>().LocalizeAsync(artifact.Uri, artifact.Sha256, ct);
            return Results.File(local, "application/octet-stream", System.IO.Path.GetFileName(relative));
        }).Produces(200, contentType: "application/octet-stream");
        artifacts.MapGet("/artifacts", async (string? path, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            var (run, relative) = await RunOfAsync(session, (path ?? "").TrimEnd('/'), http, ct, directory: true);
            return MlflowApi.Json(new ListArtifactsResponse(List(await session.StateAsync<RunTracking>(run.Id, null, ct), relative, "")));
        }).Produces<ListArtifactsResponse>();
    }

    /// <summary>The files and folders right under <paramref name="folder"/> of the run's artifacts, their paths under
    /// <paramref name="shownUnder"/> (the proxy names them relative to the folder, the tracking API's list from the root).</summary>
    public static List<MlflowFileInfo> List(RunTracking? tracked, string folder, string shownUnder)
    {
        var prefix = folder.Length == 0 ? "" : folder + "/";
        return [.. (tracked?.Artifacts ?? new Dictionary<string, ArtifactRef>()).Where(a => a.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(a => (Within: a.Key[prefix.Length..], a.Value))
            .GroupBy(a => a.Within.Split('/')[0])
            .Select(g => g.Count() == 1 && g.First().Within == g.Key
                ? new MlflowFileInfo(shownUnder + g.Key, false, g.First().Value.Size)
                : new MlflowFileInfo(shownUnder + g.Key, true, null))
            .OrderBy(f => f.Path, StringComparer.Ordinal)];
    }

    /// <summary>The run a proxy path names (<c>&lt;experiment&gt;/&lt;run&gt;/artifacts/&lt;path&gt;</c>) and the path within its
    /// artifacts; a reader's role, or the writer's rights for an upload, are checked by the caller.</summary>
    private static async Task<(TrainingRun Run, string Relative)> RunOfAsync(IQuerySession session, string path, HttpContext http, CancellationToken ct,
        bool directory = false)
    {
        var parts = path.Split('/', 4);
        if (parts.Length < (directory ? 3 : 4) || parts[2] != "artifacts" || !Guid.TryParseExact(parts[1], "N", out var runId))
            throw new InvalidField("path", "must be <experiment id>/<run id>/artifacts/<path>, as the run's artifact_uri gives it");
        var actor = Actor.From(http.User);
        if (actor.Run != runId && (actor.IsScoped || actor.Roles.Count == 0))
            throw new Forbidden(actor.Run is { } own ? $"{actor.Name} holds a token for run {own:N} only" : $"{actor.Name} has no role");
        var run = await session.LoadAsync<TrainingRun>(StreamKeys.Run(runId), ct) ?? throw new NotFound("run", parts[1]);
        if ((run.ExperimentId ?? Experiments.DefaultId) != parts[0]) throw new NotFound("run", $"{parts[0]}/{parts[1]}");
        var relative = parts.Length == 4 ? parts[3] : "";
        return (run, directory && relative.Length == 0 ? "" : ValidPath(relative));
    }

    /// <summary>The request's body, hashed into the store through a private temporary file (at most
    /// <c>Mlflow:MaxArtifactBytes</c>, 1 GiB by default).</summary>
    private static async Task<ArtifactRef> StoreAsync(HttpContext http, CancellationToken ct)
    {
        var max = http.RequestServices.GetRequiredService<IConfiguration>().GetValue<long?>("Mlflow:MaxArtifactBytes") ?? 1L << 30;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = max;
        var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"emo-upload-{Guid.NewGuid():N}");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using (var file = new FileStream(temp, options))
                await http.Request.Body.CopyToAsync(file, ct);
            return await http.RequestServices.GetRequiredService<IArtifactStore>().PutAsync(temp, ct);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9._\- ]{1,255}\z")]
    private static partial Regex Segment();
}

public sealed record MlflowFileInfo(string Path, bool IsDir, long? FileSize);
public sealed record ListArtifactsResponse(IReadOnlyList<MlflowFileInfo> Files);
public sealed record ListRunArtifactsResponse(string RootUri, IReadOnlyList<MlflowFileInfo> Files, string? NextPageToken);
