using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Lineage;

public static class ImpactQuery
{
    public static async Task<DatasetImpact> ForDatasetAsync(IQuerySession session, string sha256, CancellationToken ct)
    {
        Guard.Sha256("dataset", sha256);
        // In the order they happened: an answer must not depend on where the rows lie (a store rebuilt from history answers the same).
        var datasets = await session.Query<Dataset>().Where(d => d.Sha256 == sha256).OrderBy(d => d.RegisteredAt).Select(d => d.DatasetId).ToListAsync(ct);
        var runs = await session.Query<TrainingRun>().Where(r => r.DatasetSha256 == sha256).OrderBy(r => r.RequestedAt).Select(r => r.RunId).ToListAsync(ct);
        var versions = await session.Query<ModelVersion>().Where(v => v.DatasetSha256 == sha256).ToListAsync(ct);
        var models = versions.Select(v => v.ModelName).Distinct().ToArray();
        var endpoints = models.Length == 0 ? [] : await session.Query<EndpointState>().Where(e => e.ModelName.IsOneOf(models)).ToListAsync(ct);
        var impacted = versions
            .OrderBy(v => v.ModelName).ThenBy(v => v.Version)
            .Select(v => new ImpactedVersion(v.ModelName, v.Version, v.RunId, v.Stage.ToString(),
                [.. endpoints.Where(e => e.ModelName == v.ModelName && e.Served.Any(p => p.Version == v.Version)).Select(e => e.Name)]))
            .ToList();
        return new DatasetImpact(sha256, datasets, runs, impacted, [.. impacted.SelectMany(v => v.Endpoints).Distinct().Order()]);
    }
}
