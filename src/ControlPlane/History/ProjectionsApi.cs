using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.History;

/// <summary>The admin's routes to the projections: <c>GET /api/projections</c> lists them; <c>POST /api/projections/rebuilds</c>
/// starts a rebuild or verification and answers 202 with where to poll it (<c>GET /api/projections/rebuilds/{id}</c>).</summary>
public static class ProjectionsApi
{
    public static void MapProjections(this IEndpointRouteBuilder api)
    {
        var admin = api.MapGroup("/projections").RequireAuthorization(Roles.Admin);
        admin.MapGet("", (ProjectionRebuild rebuild, CancellationToken ct) => rebuild.ListAsync(ct)).WithName("ListProjections");
        admin.MapPost("/rebuilds", async (RebuildRequest request, ProjectionRuns runs, CancellationToken ct) =>
            {
                var run = await runs.StartAsync(request, ct);
                return Results.Accepted($"/api/projections/rebuilds/{run.Id}", run);
            }).WithName("StartProjectionRebuild")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(CommandRoutes.MaxCommandBytes))
            .Produces<ProjectionRun>(StatusCodes.Status202Accepted)
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(409).ProducesProblem(413);
        admin.MapGet("/rebuilds/{id:guid}", (Guid id, ProjectionRuns runs) =>
            runs.Find(id) ?? throw new NotFound("projection rebuild", id.ToString())).WithName("GetProjectionRebuild");
    }
}
