using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.Endpoints;

public sealed record EndpointCreated(string Endpoint, string ModelName, int MinReplicas, int MaxReplicas, string CreatedBy, DateTimeOffset CreatedAt);

public sealed record RolloutStarted(
    string Endpoint,
    Guid RolloutId,
    string ModelName,
    int Version,
    string ArtifactUri,
    string ArtifactSha256,
    RolloutKind Kind,
    IReadOnlyList<CanaryStep> Steps,
    int? StableVersion,
    string StartedBy,
    DateTimeOffset StartedAt);

public sealed record RolloutStepAdvanced(string Endpoint, Guid RolloutId, int Step, int CanaryWeight, DateTimeOffset AdvancedAt);

public sealed record RolloutPromoted(string Endpoint, Guid RolloutId, int Version, string PromotedBy, DateTimeOffset PromotedAt);

public sealed record RolloutAborted(string Endpoint, Guid RolloutId, int Version, string Reason, string AbortedBy, DateTimeOffset AbortedAt);

public sealed record EndpointRolledBack(string Endpoint, int FromVersion, int ToVersion, string ToArtifactUri, string ToArtifactSha256, string Reason, string RolledBackBy, DateTimeOffset RolledBackAt);

public sealed record RolloutAnalysisRecorded(string Endpoint, Guid RolloutId, int Step, VersionMetrics Canary, VersionMetrics Stable, DateTimeOffset ObservedAt);

public sealed record EndpointStateObserved(
    string Endpoint, long Revision, bool Ready, string? Message, DateTimeOffset ObservedAt, IReadOnlyList<LoadedVersion>? Loaded = null);

public sealed record EndpointDriftMeasured(string Endpoint, string ModelName, int Version, IReadOnlyDictionary<string, double> FeatureScores, DateTimeOffset WindowEnd);

public sealed record EndpointDriftDetected(string Endpoint, string ModelName, int Version, string Feature, double Score, double Threshold, DateTimeOffset WindowEnd);

/// <summary>A version taking a share of an endpoint's traffic.</summary>
public sealed record TrafficSplit(int Version, string ArtifactUri, string ArtifactSha256, int Weight);

public sealed record RolloutInProgress(
    Guid RolloutId, int Version, string ArtifactUri, string ArtifactSha256, RolloutKind Kind, IReadOnlyList<CanaryStep> Steps, int Step,
    string StartedBy, DateTimeOffset StartedAt);

/// <summary>When a version served on this endpoint (To is null while it still serves).</summary>
public sealed record ServingPeriod(int Version, DateTimeOffset From, DateTimeOffset? To);

public sealed record RolloutOutcome(Guid RolloutId, int Version, RolloutKind Kind, string Outcome, string By, DateTimeOffset StartedAt, DateTimeOffset EndedAt, string? Reason);

/// <summary>An endpoint's desired state and history (stream <c>endpoint:{name}</c>). Every change of
/// the traffic split bumps <see cref="Revision"/>, which agents use to ignore stale work orders.</summary>
public sealed record EndpointState(
    string Id,
    string Name,
    string ModelName,
    int MinReplicas,
    int MaxReplicas,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    long Revision,
    IReadOnlyList<TrafficSplit> Traffic,
    RolloutInProgress? Rollout,
    IReadOnlyList<ServingPeriod> Served,
    IReadOnlyList<RolloutOutcome> Rollouts,
    bool? Ready = null,
    long ObservedRevision = 0,
    string? ObservedMessage = null,
    IReadOnlyList<LoadedVersion>? ObservedLoaded = null,
    IReadOnlyDictionary<string, double>? LastDrift = null)
{
    /// <summary>The stream version: what a caller passes as <c>expectedVersion</c> to roll out only if nothing changed since.</summary>
    [Marten.Schema.Version]
    public long StreamVersion { get; init; }

    public int? StableVersion => Rollout is null
        ? Traffic.FirstOrDefault()?.Version
        : Traffic.FirstOrDefault(t => t.Version != Rollout.Version)?.Version;

    /// <summary>The desired state agents and serving processes converge to.</summary>
    public ApplyEndpoint Desired() =>
        new(Name, Revision, [.. Traffic.Select(t => new ServedVersion(ModelName, t.Version, t.ArtifactUri, t.ArtifactSha256, t.Weight))],
            MinReplicas, MaxReplicas);

    public static EndpointState Create(EndpointCreated e) =>
        new(StreamKeys.Endpoint(e.Endpoint), e.Endpoint, e.ModelName, e.MinReplicas, e.MaxReplicas, e.CreatedBy, e.CreatedAt, 0, [], null, [], []);

    public EndpointState Apply(RolloutStarted e)
    {
        var rollout = new RolloutInProgress(e.RolloutId, e.Version, e.ArtifactUri, e.ArtifactSha256, e.Kind, e.Steps, 0, e.StartedBy, e.StartedAt);
        if (e.Kind == RolloutKind.Immediate)
            return this with { Rollout = rollout };
        var weight = e.Steps[0].Weight;
        return this with
        {
            Rollout = rollout,
            Traffic = [.. Traffic.Select(t => t with { Weight = 100 - weight }), new TrafficSplit(e.Version, e.ArtifactUri, e.ArtifactSha256, weight)],
            Served = [.. Served, new ServingPeriod(e.Version, e.StartedAt, null)],
            Revision = Revision + 1,
        };
    }

    public EndpointState Apply(RolloutStepAdvanced e) => this with
    {
        Rollout = Rollout! with { Step = e.Step },
        Traffic = [.. Traffic.Select(t => t with { Weight = t.Version == Rollout.Version ? e.CanaryWeight : 100 - e.CanaryWeight })],
        Revision = Revision + 1,
    };

    public EndpointState Apply(RolloutPromoted e)
    {
        var r = Rollout!;
        var served = Served.Any(p => p.Version == r.Version && p.To is null) ? Served : [.. Served, new ServingPeriod(r.Version, e.PromotedAt, null)];
        return this with
        {
            Traffic = [new TrafficSplit(r.Version, r.ArtifactUri, r.ArtifactSha256, 100)],
            Served = EndServing(served, keep: r.Version, at: e.PromotedAt),
            Rollout = null,
            Rollouts = [.. Rollouts, new RolloutOutcome(r.RolloutId, r.Version, r.Kind, "promoted", e.PromotedBy, r.StartedAt, e.PromotedAt, null)],
            Revision = Revision + 1,
        };
    }

    public EndpointState Apply(RolloutAborted e)
    {
        var r = Rollout!;
        return this with
        {
            Traffic = [.. Traffic.Where(t => t.Version != r.Version).Select(t => t with { Weight = 100 })],
            Served = EndServing(Served, keep: StableVersion, at: e.AbortedAt),
            Rollout = null,
            Rollouts = [.. Rollouts, new RolloutOutcome(r.RolloutId, r.Version, r.Kind, "aborted", e.AbortedBy, r.StartedAt, e.AbortedAt, e.Reason)],
            Revision = Revision + 1,
        };
    }

    public EndpointState Apply(EndpointRolledBack e) => this with
    {
        Traffic = [new TrafficSplit(e.ToVersion, e.ToArtifactUri, e.ToArtifactSha256, 100)],
        Served = [.. EndServing(Served, keep: null, at: e.RolledBackAt), new ServingPeriod(e.ToVersion, e.RolledBackAt, null)],
        Revision = Revision + 1,
    };

    public EndpointState Apply(EndpointStateObserved e) =>
        this with { Ready = e.Ready, ObservedRevision = e.Revision, ObservedMessage = e.Message, ObservedLoaded = e.Loaded };

    public EndpointState Apply(EndpointDriftMeasured e) => this with { LastDrift = e.FeatureScores };

    private static IReadOnlyList<ServingPeriod> EndServing(IReadOnlyList<ServingPeriod> served, int? keep, DateTimeOffset at) =>
        [.. served.Select(p => p.To is null && p.Version != keep ? p with { To = at } : p)];
}
