using EventMlOps.Contracts.Registry;

namespace EventMlOps.Contracts.Views;

/// <summary>What existed at a moment of history, as <c>emo env rebuild</c> brings it back (<c>GET /api/environment/plan?asOf=</c>):
/// the history range to carry over (events 1..<paramref name="UntilSequence"/>, the last at <paramref name="UntilTime"/>), every
/// endpoint that existed then with what it served, and every artifact those versions need, each with its recorded sha256.
/// Runtime-neutral: a local home and a Kubernetes namespace are both built from it.</summary>
public sealed record EnvironmentPlan(
    long UntilSequence, DateTimeOffset UntilTime, long HeadSequence, IReadOnlyList<PlannedEndpoint> Endpoints, IReadOnlyList<PlannedArtifact> Artifacts);

/// <summary>An endpoint as it was: its traffic split, the rollout in flight then (its step and the split it had reached) and
/// its replica bounds.</summary>
public sealed record PlannedEndpoint(
    string Name, string ModelName, int MinReplicas, int MaxReplicas, IReadOnlyList<PlannedVersion> Versions, RolloutInProgress? Rollout, long Revision);

/// <summary>A version an endpoint needed then: serving a share of traffic (<paramref name="Weight"/> %), or only kept as every
/// replica's fallback (weight 0, the last version a replica loaded); the run and dataset it came from.</summary>
public sealed record PlannedVersion(int Version, int Weight, Guid RunId, Guid DatasetId, ModelStage Stage);

/// <summary>An artifact the environment needs: a version's model (<c>model</c>), its drift baseline (<c>baseline</c>) or the dataset
/// it was trained on (<c>dataset</c>); <paramref name="Of"/> names whose (<c>rec@2</c>, a dataset's name).</summary>
public sealed record PlannedArtifact(string Kind, string Of, string Uri, string Sha256);
