using EventMlOps.Contracts;
using EventMlOps.Contracts.Environments;
using EventMlOps.ControlPlane.Commanding;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace EventMlOps.ControlPlane.Environments;

/// <summary>Rebuilding environments from history: the plan of a past moment, and the restore that brings a rebuilt one to life.
/// Admin only: the plan names every artifact of the environment.</summary>
public static class EnvironmentsSlice
{
    public static void MapEnvironments(this IEndpointRouteBuilder api)
    {
        api.MapGet("/environment/plan", (string? asOf, IQuerySession session, CancellationToken ct) => EnvironmentPlanQuery.GetAsync(session, asOf, ct)).WithName("GetEnvironmentPlan")
            .RequireAuthorization(Roles.Admin);
        api.MapCommand<RestoreEnvironment>("/environment/restore");
    }
}
