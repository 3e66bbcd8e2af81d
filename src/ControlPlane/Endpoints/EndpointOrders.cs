using EventMlOps.Contracts;
using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>An endpoint's desired state as its work order and its replicas' long poll carry it: with the model's drift
/// policy (the defaults unless one was set) and each version's baseline — the <c>baseline</c> output of the training run
/// that produced it — which the drift agent measures served traffic against.</summary>
public static class EndpointOrders
{
    public static async Task<ApplyEndpoint> DesiredAsync(this IQuerySession session, EndpointState state, CancellationToken ct = default)
    {
        var policy = await session.LoadAsync<ModelPolicy>(StreamKeys.ModelPolicy(state.ModelName), ct);
        var baselines = new Dictionary<int, ArtifactRef>();
        foreach (var v in state.OrderedVersions)
            if (await session.LoadAsync<ModelVersion>(StreamKeys.ModelVersion(state.ModelName, v), ct) is { } version
                && await session.LoadAsync<TrainingRun>(StreamKeys.Run(version.RunId), ct) is { Outputs: { } outputs }
                && outputs.GetValueOrDefault(TrainerProtocol.Baseline) is { } baseline)
                baselines[v] = baseline;
        return state.Desired(policy?.Drift ?? DriftPolicy.Default, baselines);
    }
}
