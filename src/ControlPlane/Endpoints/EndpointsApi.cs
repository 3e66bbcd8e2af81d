using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Endpoints;

public static class EndpointsApi
{
    public static void MapEndpoints(this IEndpointRouteBuilder api)
    {
        api.MapCommand<CreateEndpoint>("/endpoints");
        api.MapCommand<RollOut>("/endpoints/rollout");
        api.MapCommand<AdvanceRollout>("/endpoints/advance");
        api.MapCommand<PromoteRollout>("/endpoints/promote");
        api.MapCommand<AbortRollout>("/endpoints/abort");
        api.MapCommand<Rollback>("/endpoints/rollback");
        api.MapCommand<RolloutStepObserved>("/endpoints/facts/step");
        api.MapCommand<EndpointObserved>("/endpoints/facts/observed");
        api.MapCommand<DriftMeasured>("/endpoints/facts/drift-measured");
        api.MapCommand<DriftDetected>("/endpoints/facts/drift-detected");
        api.MapGet("/endpoints", async (IQuerySession session, CancellationToken ct) =>
            await session.Query<EndpointState>().OrderBy(e => e.Name).ToListAsync(ct));
        api.MapGet("/endpoints/{name}", async (string name, string? asOf, IQuerySession session, CancellationToken ct) =>
            await session.StateAsync<EndpointState>(StreamKeys.Endpoint(name), AsOf.Parse(asOf), ct) ?? throw new NotFound("endpoint", name));
    }
}
