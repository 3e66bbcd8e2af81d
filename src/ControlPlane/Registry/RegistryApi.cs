using EventMlOps.Contracts;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Drift;
using Marten;

namespace EventMlOps.ControlPlane.Registry;

public static class RegistryApi
{
    public static void MapRegistry(this IEndpointRouteBuilder api)
    {
        api.MapCommand<RegisterModelVersion>("/models/versions");
        api.MapCommand<ApproveModelVersion>("/models/versions/approve");
        api.MapCommand<SetModelAlias>("/models/versions/alias");
        api.MapCommand<RemoveModelAlias>("/models/versions/alias/remove");
        api.MapCommand<TransitionModelStage>("/models/versions/stage");
        api.MapCommand<SetModelPolicy>("/models/policy");
        api.MapGet("/models", (string? asOf, int? limit, int? offset, IQuerySession session, CancellationToken ct) =>
            RegistryQueries.ListAsync(session, AsOf.Parse(asOf), limit, offset, ct)).WithName("ListModels");
        api.MapGet("/models/{name}", async (string name, string? asOf, IQuerySession session, CancellationToken ct) =>
            await RegistryQueries.GetAsync(session, name, AsOf.Parse(asOf), ct) ?? throw new NotFound("model", name)).WithName("GetModel");
        api.MapGet("/models/{name}/versions/{version:int}", (string name, int version, string? asOf, IQuerySession session, CancellationToken ct) =>
            VersionAsync(session, name, version, AsOf.Parse(asOf), ct)).WithName("GetModelVersion");
        api.MapGet("/models/{name}/policy", (string name, IQuerySession session, CancellationToken ct) => ModelPolicyQuery.GetAsync(session, name, ct)).WithName("GetModelPolicy");
    }

    public static async Task<ModelVersionView> VersionAsync(IQuerySession session, string name, int version, AsOf? asOf, CancellationToken ct) =>
        (await session.StateAsync<ModelVersion>(StreamKeys.ModelVersion(name, version), asOf, ct)
            ?? throw new NotFound("model version", $"{name}@{version}")).ToView();
}
