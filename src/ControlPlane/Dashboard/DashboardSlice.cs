using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Alarms;
using EventMlOps.ControlPlane.Audit;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Dashboard.Components;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Lineage;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Wolverine;

namespace EventMlOps.ControlPlane.Dashboard;

/// <summary>The web dashboard at <c>/</c>: Razor components rendered on the server from the API's own queries and views
/// (nothing is computed a second way), SVG drawn on the server, a small script for live updates. Its forms send the same
/// commands through the same gate as the API, in the signed-in person's name.</summary>
public static class DashboardSlice
{
    /// <summary>Whoever is signed in, and what every page needs to know of the request.</summary>
    public sealed record Viewer(string Name, IReadOnlyList<string> Roles, string Csrf, Session.Flash? Flash, long Sequence);

    /// <summary>Every dashboard response: no script, style or connection from anywhere else, no framing, no referrer to other sites, no caching.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static void AddDashboard(this IServiceCollection services) => services.AddRazorComponents();

    public static AuthorizationPolicy Policy() => new AuthorizationPolicyBuilder(Session.Scheme)
        .RequireAuthenticatedUser().RequireClaim("role", Roles.People).Build();

    public static void MapDashboard(this WebApplication app)
    {
        var ui = app.MapGroup("").ExcludeFromDescription().WithMetadata(new RequestSizeLimitAttribute(CommandRoutes.MaxCommandBytes)).AddEndpointFilter(async (context, next) =>
        {
            var headers = context.HttpContext.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin"; // not no-referrer: under it a form's Origin is "null", and the CSRF check reads it
            headers.CacheControl = "no-store";
            return await next(context);
        });
        ui.MapGet("/assets/{file}", Assets.Serve).AllowAnonymous();
        ui.MapGet("/signin", (string? next, string? ended, HttpContext http) =>
            Page<SignInPage>(new { Csrf = Session.Csrf(http), Next = LocalPath(next), Ended = ended is not null }));
        ui.MapPost("/signin", async (HttpContext http, Tokens tokens) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            if (!Session.FromThisSite(http, form)) return Page<SignInPage>(new { Csrf = Session.Csrf(http), Error = CsrfRefusal });
            var next = LocalPath(form["next"]);
            return await Session.SignInAsync(http, tokens, form["token"]) is { } error
                ? Page<SignInPage>(new { Csrf = Session.Csrf(http), Next = next, Error = error }) // the form again, with why
                : Results.Redirect(next);
        });

        var pages = ui.MapGroup("").RequireAuthorization(Session.Policy).AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (Exception e) when (ProblemMapping.Describe(e) is { Status: < 500 } problem)
            {
                return Page<ErrorPage>(new { Viewer = await ViewerAsync(context.HttpContext), Problem = problem }, problem.Status ?? 400);
            }
        });
        pages.MapPost("/signout", async (HttpContext http) =>
        {
            if (!Session.FromThisSite(http, await http.Request.ReadFormAsync(http.RequestAborted))) return Results.BadRequest();
            Session.SignOut(http);
            return Results.Redirect("/signin");
        });
        pages.MapGet("/live", LiveEvents.StreamAsync);
        MapPages(pages);
        MapActions(pages);
    }

    private static void MapPages(RouteGroupBuilder pages)
    {
        pages.MapGet("/", async (HttpContext http, IQuerySession session, CancellationToken ct) => Page<HomePage>(new
        {
            Viewer = await ViewerAsync(http),
            Endpoints = await EndpointsApi.ListAsync(100, 0, session, ct),
            Runs = await TrainingApi.ListAsync(null, null, 10, 0, session, ct),
            Models = await RegistryQueries.ListAsync(session, null, 100, 0, ct),
            Anomalies = await AlarmsSlice.ListAsync(null, null, true, 20, 0, session, ct),
        }));
        pages.MapGet("/endpoints/{name}", async (string name, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            var endpoint = await EndpointsApi.GetAsync(session, name, null, ct);
            return Page<EndpointPage>(new
            {
                Viewer = await ViewerAsync(http),
                Endpoint = endpoint,
                Timeline = await EndpointTimelineQuery.ReadAsync(session, name, null, 500, ct),
                Drift = await DriftHistory.ReadAsync(session, name, null, 20, ct),
                Anomalies = await AlarmsSlice.ListAsync(name, null, null, 20, 0, session, ct),
            });
        });
        pages.MapGet("/runs/{id:guid}", async (Guid id, HttpContext http, IQuerySession session, IDocumentStore store, CancellationToken ct) => Page<RunPage>(new
        {
            Viewer = await ViewerAsync(http),
            Run = await TrainingApi.GetAsync(session, id, null, ct),
            Changes = (await AuditTrail.QueryAsync(store, new AuditFilter(Stream: StreamKeys.Run(id), Limit: Paging.MaxPage), ct)).Reverse().ToList(),
        }));
        pages.MapGet("/models/{name}", async (string name, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            var model = await RegistryQueries.GetAsync(session, name, null, ct) ?? throw new Commanding.NotFound("model", name);
            var versions = new List<ModelVersionView>();
            foreach (var v in model.Versions.OrderByDescending(v => v.Version).Take(20))
                versions.Add(await RegistryApi.VersionAsync(session, name, v.Version, null, ct));
            return Page<ModelPage>(new { Viewer = await ViewerAsync(http), Model = model, Versions = versions });
        });
        // The moment: the slider's sequence (asOf), or one of the stream's events picked from the list (moment).
        pages.MapGet("/lineage/endpoints/{name}", async (string name, string? asOf, string? moment, HttpContext http, IQuerySession session,
            IDocumentStore store, CancellationToken ct) =>
        {
            var at = AsOf.Parse(moment is { Length: > 0 } ? moment : asOf);
            var lineage = await LineageQueries.ForEndpointAsync(session, name, at, ct);
            return await LineageAsync(http, store, LineageGraph.Of(lineage), $"Lineage of endpoint {name}", StreamKeys.Endpoint(name), at, ct);
        });
        pages.MapGet("/lineage/models/{name}/{version:int}", async (string name, int version, string? asOf, string? moment, HttpContext http,
            IQuerySession session, IDocumentStore store, CancellationToken ct) =>
        {
            var at = AsOf.Parse(moment is { Length: > 0 } ? moment : asOf);
            var lineage = await LineageQueries.ForVersionAsync(session, name, version, at, ct);
            return await LineageAsync(http, store, LineageGraph.Of(lineage), $"Lineage of {name}@{version}", StreamKeys.ModelVersion(name, version), at, ct);
        });
        pages.MapGet("/impact", async (string dataset, HttpContext http, IQuerySession session, CancellationToken ct) => Page<LineagePage>(new
        {
            Viewer = await ViewerAsync(http),
            Title = $"Impact of dataset {Charts.Short(dataset)}",
            Graph = LineageGraph.Of(await ImpactQuery.ForDatasetAsync(session, dataset, ct)),
        }));
        pages.MapGet("/audit", async (string? actor, string? stream, string? type, string? since, string? until, string? correlation, int? limit,
            HttpContext http, IDocumentStore store, CancellationToken ct) =>
        {
            var filter = AuditApi.Filter(actor, stream, type, since, until, correlation, limit);
            var entries = await AuditTrail.QueryAsync(store, filter, ct);
            // A correlation is one intent: its causal chain reads in order, who asked first.
            return Page<AuditPage>(new { Viewer = await ViewerAsync(http), Filter = filter, Entries = filter.CorrelationId is null ? entries : entries.Reverse().ToList() });
        });
    }

    private static async Task<IResult> LineageAsync(HttpContext http, IDocumentStore store, LineageGraph graph, string title, string stream, AsOf? asOf,
        CancellationToken ct)
    {
        var viewer = await ViewerAsync(http);
        var moments = await AuditTrail.QueryAsync(store, new AuditFilter(Stream: stream, Limit: 200), ct);
        return Page<LineagePage>(new { Viewer = viewer, Title = title, Graph = graph, AsOf = asOf, Moments = moments, Stream = stream });
    }

    private static void MapActions(RouteGroupBuilder pages)
    {
        // Admitted like the API's commands: beyond the commands handled at once and waiting, 503.
        var actions = pages.MapGroup("").RequireRateLimiting(CommandRoutes.CommandLimiter);
        actions.MapPost("/endpoints/{name}/promote", (string name, HttpContext http, IMessageContext bus, IDocumentStore store) =>
            SendAsync(http, bus, store, $"/endpoints/{Uri.EscapeDataString(name)}", _ => new PromoteRollout(Guid.NewGuid(), name), $"promoted the rollout on {name}"));
        actions.MapPost("/endpoints/{name}/abort", (string name, HttpContext http, IMessageContext bus, IDocumentStore store) =>
            SendAsync(http, bus, store, $"/endpoints/{Uri.EscapeDataString(name)}", f => new AbortRollout(Guid.NewGuid(), name, f["reason"].ToString()),
                $"aborted the rollout on {name}"));
        actions.MapPost("/endpoints/{name}/rollback", (string name, HttpContext http, IMessageContext bus, IDocumentStore store) =>
            SendAsync(http, bus, store, $"/endpoints/{Uri.EscapeDataString(name)}", f => new Rollback(Guid.NewGuid(), name, f["reason"].ToString()),
                $"rolled {name} back"));
        actions.MapPost("/models/{name}/versions/{version:int}/approve", (string name, int version, HttpContext http, IMessageContext bus, IDocumentStore store) =>
            SendAsync(http, bus, store, $"/models/{Uri.EscapeDataString(name)}#v{version}",
                f => new ApproveModelVersion(Guid.NewGuid(), name, version, f["comment"].ToString() is { Length: > 0 } c ? c : null), $"approved {name}@{version}"));
        actions.MapPost("/models/{name}/versions/{version:int}/stage", (string name, int version, HttpContext http, IMessageContext bus, IDocumentStore store) =>
            SendAsync(http, bus, store, $"/models/{Uri.EscapeDataString(name)}#v{version}", f => new TransitionModelStage(Guid.NewGuid(), name, version,
                    Enum.TryParse<ModelStage>(f["stage"], out var stage) && Enum.IsDefined(stage) ? stage : throw new InvalidField("stage", "is no stage")),
                $"moved {name}@{version} to its new stage"));
    }

    /// <summary>Sends a form's command through the same gate as the API (the person's role, four eyes, every rule), then
    /// returns to the page with what came of it: done, or refused and why.</summary>
    private static async Task<IResult> SendAsync(HttpContext http, IMessageContext bus, IDocumentStore store, string back, Func<IFormCollection, ICommand> command,
        string done)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        if (!Session.FromThisSite(http, form)) return Page<ErrorPage>(new { Viewer = await ViewerAsync(http), Problem = new ProblemDetails { Status = 400, Title = "Refused", Detail = CsrfRefusal } }, 400);
        try
        {
            await CommandRoutes.SendAsync(command(form), Session.Token(http), http, bus, store, http.RequestAborted);
            Session.SetFlash(http, new Session.Flash(true, done));
        }
        catch (Exception e) when (ProblemMapping.Describe(e) is { Status: < 500 } problem)
        {
            Session.SetFlash(http, new Session.Flash(false, $"{problem.Title} ({problem.Status}): {problem.Detail}"));
        }
        return Results.Redirect(back);
    }

    private const string CsrfRefusal = "the form was not sent from this dashboard (or its page is too old): reload the page and try again";

    private static async Task<Viewer> ViewerAsync(HttpContext http)
    {
        var actor = Actor.From(http.User);
        var store = http.RequestServices.GetRequiredService<IDocumentStore>();
        return new Viewer(actor.Name, [.. actor.Roles.Order()], Session.Csrf(http), Session.TakeFlash(http), await LiveEvents.LatestAsync(store, http.RequestAborted));
    }

    private static IResult Page<T>(object parameters, int status = 200) where T : IComponent =>
        new RazorComponentResult<T>(parameters) { StatusCode = status };

    /// <summary>Where to go after signing in: a path on this site only (never another host, never a scheme).</summary>
    private static string LocalPath(string? next) =>
        next is ['/', not '/' and not '\\', ..] or "/" && !next.Any(char.IsControl) ? next : "/";
}
