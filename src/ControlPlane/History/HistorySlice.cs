using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using Microsoft.AspNetCore.Mvc;

namespace EventMlOps.ControlPlane.History;

/// <summary>Portable history: export the event store as a history file, import one into an empty store (or after its last
/// event). Admin only: a history holds everything that ever happened, and an import rewrites what the store answers.</summary>
public static class HistorySlice
{
    public static IServiceCollection AddHistory(this IServiceCollection services) =>
        services.AddTransient<HistoryExport>().AddTransient<HistoryImport>();

    public static void MapHistory(this IEndpointRouteBuilder api)
    {
        var history = api.MapGroup("/history").RequireAuthorization(p => p.RequireClaim("role", Roles.Admin));
        history.MapGet("/export", async (string? until, HttpContext http, HistoryExport export, CancellationToken ct) =>
        {
            http.Response.ContentType = HistoryFormat.MediaType;
            await export.WriteAsync(http.Response.Body, until, ct);
        }).WithName("ExportHistory").Produces(200, contentType: HistoryFormat.MediaType).ProducesProblem(400).ProducesProblem(403);
        // The body is spooled and bounded by the import itself (History:MaxImportBytes), not by the server's default limit.
        history.MapPost("/import", (string? appendAfter, HttpRequest request, HistoryImport import, CancellationToken ct) =>
            {
                if (request.ContentType?.Split(';')[0].Trim() != HistoryFormat.MediaType)
                    throw new HistoryRefused($"send the history file as {HistoryFormat.MediaType}", status: 415);
                return import.ImportAsync(request.Body, request.ContentLength, AppendPoint.Parse(appendAfter), Actor.From(request.HttpContext.User).Name, ct);
            }).WithName("ImportHistory")
            .WithMetadata(new DisableRequestSizeLimitAttribute())
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(409).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
    }
}
