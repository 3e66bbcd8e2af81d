using EventMlOps.Contracts.Datasets;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Datasets;

public static class DatasetsApi
{
    public static void MapDatasets(this IEndpointRouteBuilder api)
    {
        api.MapCommand<RegisterDataset>("/datasets");
        api.MapGet("/datasets", async (IQuerySession session, CancellationToken ct) =>
            await session.Query<Dataset>().OrderByDescending(d => d.RegisteredAt).ToListAsync(ct));
        api.MapGet("/datasets/{id:guid}", async (Guid id, string? asOf, IQuerySession session, CancellationToken ct) =>
            await session.StateAsync<Dataset>(StreamKeys.Dataset(id), AsOf.Parse(asOf), ct) ?? throw new NotFound("dataset", id.ToString("N")));
    }
}
