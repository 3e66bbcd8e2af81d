using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Lineage;

public static class LineageApi
{
    public static void MapLineage(this IEndpointRouteBuilder api)
    {
        api.MapGet("/lineage/models/{name}/{version:int}", (string name, int version, string? asOf, IQuerySession session, CancellationToken ct) =>
            LineageQueries.ForVersionAsync(session, name, version, AsOf.Parse(asOf), ct)).WithName("GetModelLineage");
        api.MapGet("/lineage/endpoints/{name}", (string name, string? asOf, IQuerySession session, CancellationToken ct) =>
            LineageQueries.ForEndpointAsync(session, name, AsOf.Parse(asOf), ct)).WithName("GetEndpointLineage");
        api.MapGet("/impact", (string dataset, IQuerySession session, CancellationToken ct) =>
            ImpactQuery.ForDatasetAsync(session, dataset, ct)).WithName("GetDatasetImpact");
    }
}
