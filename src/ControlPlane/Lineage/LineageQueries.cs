using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Lineage;

/// <summary>Lineage is composed from the per-stream states. Now, they are the inline snapshots;
/// as of a time or sequence, the same streams are aggregated up to that point by Marten — so
/// one code path answers both, and history is never kept in hand-made copies.</summary>
public static class LineageQueries
{
    public static async Task<ModelLineage> ForVersionAsync(IQuerySession session, string model, int version, AsOf? asOf, CancellationToken ct)
    {
        var v = await session.StateAsync<ModelVersion>(StreamKeys.ModelVersion(model, version), asOf, ct)
            ?? throw new NotFound("model version", $"{model}@{version}" + (asOf is null ? "" : $" as of {asOf}"));
        var endpoints = await EndpointsOfModelAsync(session, model, asOf, ct);
        return await ComposeAsync(session, v, endpoints, asOf, ct);
    }

    public static async Task<EndpointLineage> ForEndpointAsync(IQuerySession session, string name, AsOf? asOf, CancellationToken ct)
    {
        var e = await session.StateAsync<EndpointState>(StreamKeys.Endpoint(name), asOf, ct)
            ?? throw new NotFound("endpoint", name + (asOf is null ? "" : $" as of {asOf}"));
        var serving = new List<ModelLineage>();
        foreach (var split in e.Traffic)
        {
            var v = await session.StateAsync<ModelVersion>(StreamKeys.ModelVersion(e.ModelName, split.Version), asOf, ct)
                ?? throw new InvalidOperationException($"endpoint '{name}' serves {e.ModelName}@{split.Version}, whose stream is missing");
            serving.Add(await ComposeAsync(session, v, [e], asOf, ct));
        }
        return new EndpointLineage(e.Name, e.ModelName, e.Revision, e.Traffic, e.Rollout, serving, asOf?.ToString());
    }

    private static async Task<ModelLineage> ComposeAsync(IQuerySession session, ModelVersion v, IReadOnlyList<EndpointState> endpoints, AsOf? asOf, CancellationToken ct)
    {
        var run = await session.StateAsync<TrainingRun>(StreamKeys.Run(v.RunId), asOf, ct);
        var dataset = await session.StateAsync<Dataset>(StreamKeys.Dataset(v.DatasetId), asOf, ct);
        var served = endpoints
            .SelectMany(e => e.Served.Where(p => p.Version == v.Version)
                .Select(p => new EndpointServing(e.Name, p.From, p.To, p.To is null ? e.Traffic.FirstOrDefault(t => t.Version == v.Version)?.Weight : null)))
            .OrderBy(s => s.From).ToList();
        var alarms = new List<DriftAlarm>();
        foreach (var e in endpoints.Where(e => e.Served.Any(p => p.Version == v.Version)))
            alarms.AddRange((await DriftHistory.AlarmsAsync(session, e.Name, asOf, DriftHistory.DefaultWindows, ct)).Where(a => a.ModelName == v.ModelName && a.Version == v.Version));
        return new ModelLineage(
            v.ModelName, v.Version, v.Stage, v.Aliases, v.ArtifactUri, v.ArtifactSha256, v.RegisteredBy, v.RegisteredAt,
            v.Approvals, v.StageHistory, v.AliasHistory,
            // A run an MLflow client started reports no metrics of its own: the version holds its latest tracked ones.
            run is null ? null : new RunLineage(run.RunId, run.TrainerKind, run.Status, run.Hyperparameters, run.CodeVersion, run.Metrics ?? v.Metrics,
                run.DurationSeconds, run.RequestedBy, run.RequestedAt, run.Trigger, run.ReproducedFrom, run.Reproductions ?? [], run.Options),
            dataset is null ? null : new DatasetLineage(dataset.DatasetId, dataset.Name, dataset.Uri, dataset.Sha256, dataset.Format,
                dataset.RowCount, dataset.RegisteredBy, dataset.RegisteredAt),
            served, asOf?.ToString(), [.. alarms.OrderBy(a => a.DetectedAt)]);
    }

    private static async Task<IReadOnlyList<EndpointState>> EndpointsOfModelAsync(IQuerySession session, string model, AsOf? asOf, CancellationToken ct)
    {
        var now = await session.Query<EndpointState>().Where(e => e.ModelName == model).ToListAsync(ct);
        if (asOf is null) return now;
        var then = new List<EndpointState>();
        foreach (var e in now)
            if (await session.StateAsync<EndpointState>(e.Id, asOf, ct) is { } past)
                then.Add(past);
        return then;
    }
}
