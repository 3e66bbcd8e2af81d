using EventMlOps.Contracts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>A model's policies with its latest retraining loops, each composed from the loop's record and the inline snapshots
/// of its run, version and endpoint — four queries whatever the number of loops.</summary>
public static class ModelPolicyQuery
{
    public const int RecentLoops = 20;

    public static async Task<ModelPolicyView> GetAsync(IQuerySession session, string model, CancellationToken ct)
    {
        var policy = await session.LoadAsync<ModelPolicy>(StreamKeys.ModelPolicy(model), ct);
        if (policy is null && !await session.Query<ModelVersion>().AnyAsync(v => v.ModelName == model, ct))
            throw new NotFound("model", model);
        var loops = await session.Query<RetrainingLoop>().Where(l => l.ModelName == model).OrderByDescending(l => l.At).Take(RecentLoops).ToListAsync(ct);
        var runs = (await session.LoadManyAsync<TrainingRun>(ct, [.. loops.Where(l => l.RunId is not null).Select(l => StreamKeys.Run(l.RunId!.Value))]))
            .ToDictionary(r => r.RunId);
        var versions = (await session.LoadManyAsync<ModelVersion>(ct,
            [.. runs.Values.Where(r => r.RegisteredVersion is not null).Select(r => StreamKeys.ModelVersion(model, r.RegisteredVersion!.Value))])).ToDictionary(v => v.RunId);
        var endpoints = (await session.LoadManyAsync<EndpointState>(ct, [.. loops.Select(l => StreamKeys.Endpoint(l.Endpoint)).Distinct()])).ToDictionary(e => e.Name);
        var rollsOut = policy?.Retraining?.Rollout is not null;
        return new ModelPolicyView(model, policy?.Drift ?? DriftPolicy.Default, policy?.Retraining, policy?.SetBy, policy?.SetAt,
        [
            .. loops.Select(l => RetrainingDecisions.View(l, l.RunId is { } run ? runs.GetValueOrDefault(run) : null,
                l.RunId is { } r ? versions.GetValueOrDefault(r) : null, endpoints.GetValueOrDefault(l.Endpoint), rollsOut)),
        ], policy?.StreamVersion ?? 0);
    }
}
