using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Datasets;

public static class DatasetsApi
{
    public static void MapDatasets(this IEndpointRouteBuilder api)
    {
        api.MapCommand<RegisterDataset>("/datasets");
        api.MapGet("/datasets", async (string? sha256, int? limit, int? offset, IQuerySession session, CancellationToken ct) =>
        {
            var query = session.Query<Dataset>().AsQueryable();
            if (sha256 is not null) query = query.Where(d => d.Sha256 == sha256);
            return (await query.OrderByDescending(d => d.RegisteredAt).Page(limit, offset).ToListAsync(ct)).Select(d => d.ToView()).ToList();
        }).WithName("ListDatasets");
        api.MapGet("/datasets/{id:guid}", async (Guid id, string? asOf, IQuerySession session, CancellationToken ct) =>
            (await session.StateAsync<Dataset>(StreamKeys.Dataset(id), AsOf.Parse(asOf), ct) ?? throw new NotFound("dataset", id.ToString("N"))).ToView()).WithName("GetDataset");
    }
}
