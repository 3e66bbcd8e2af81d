using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Environments;

/// <summary>The environment as of a moment, computed from the events by the same time travel as every <c>asOf</c> query: the
/// moment becomes one global sequence, and every stream is read as of it.</summary>
public static class EnvironmentPlanQuery
{
    public static async Task<EnvironmentPlan> GetAsync(IQuerySession session, string? asOf, CancellationToken ct)
    {
        var events = session.Events.QueryAllRawEvents();
        var head = await events.OrderByDescending(e => e.Sequence).Select(e => e.Sequence).FirstOrDefaultAsync(ct);
        if (head == 0) throw new NotFound("history", "any event");
        var at = AsOf.Parse(asOf) ?? new AsOf(null, head);
        var until = at.Time is { } time
            ? await events.Where(e => e.Timestamp <= time).OrderByDescending(e => e.Sequence).Select(e => e.Sequence).FirstOrDefaultAsync(ct)
            : at.Sequence!.Value;
        if (until < 1) throw new InvalidField("asOf", $"{at} is before the first event");
        if (until > head) throw new InvalidField("asOf", $"{at} is past the last event (sequence {head})");
        var last = await events.Where(e => e.Sequence <= until).OrderByDescending(e => e.Sequence).FirstAsync(ct);
        var moment = new AsOf(null, last.Sequence);

        var endpoints = new List<PlannedEndpoint>();
        var artifacts = new List<PlannedArtifact>();
        // Every endpoint that ever existed has a document now; those created later have no state at the moment.
        foreach (var name in await session.Query<EndpointState>().OrderBy(e => e.Name).Select(e => e.Name).ToListAsync(ct))
        {
            if (await session.StateAsync<EndpointState>(StreamKeys.Endpoint(name), moment, ct) is not { Deleted: false } endpoint) continue;
            var versions = new List<PlannedVersion>();
            foreach (var v in endpoint.OrderedVersions)
            {
                var version = await session.StateAsync<ModelVersion>(StreamKeys.ModelVersion(endpoint.ModelName, v), moment, ct)
                              ?? throw new InvalidOperationException($"endpoint {name} names {endpoint.ModelName}@{v}, which has no history");
                var of = $"{endpoint.ModelName}@{v}";
                versions.Add(new PlannedVersion(v, endpoint.Traffic.FirstOrDefault(t => t.Version == v)?.Weight ?? 0, version.RunId, version.DatasetId, version.Stage));
                artifacts.Add(new PlannedArtifact("model", of, version.ArtifactUri, version.ArtifactSha256));
                if (await session.StateAsync<TrainingRun>(StreamKeys.Run(version.RunId), moment, ct) is { Outputs: { } outputs }
                    && outputs.GetValueOrDefault(TrainerProtocol.Baseline) is { } baseline)
                    artifacts.Add(new PlannedArtifact("baseline", of, baseline.Uri, baseline.Sha256));
                if (await session.StateAsync<Dataset>(StreamKeys.Dataset(version.DatasetId), moment, ct) is { } dataset)
                    artifacts.Add(new PlannedArtifact("dataset", dataset.Name, dataset.Uri, dataset.Sha256));
            }
            var view = endpoint.ToView(null);
            endpoints.Add(new PlannedEndpoint(name, endpoint.ModelName, endpoint.MinReplicas, endpoint.MaxReplicas, versions, view.Rollout, endpoint.Revision));
        }
        return new EnvironmentPlan(last.Sequence, last.Timestamp, head, endpoints,
            artifacts.DistinctBy(a => (a.Uri, a.Sha256)).ToList());
    }
}
