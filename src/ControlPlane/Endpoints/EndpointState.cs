using EventMlOps.Contracts;
using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Drift;

namespace EventMlOps.ControlPlane.Endpoints;

/// <param name="AllowUnapproved">Rollouts may serve versions without a four-eyes approval (a non-production endpoint).</param>
public sealed record EndpointCreated(string Endpoint, string ModelName, int MinReplicas, int MaxReplicas, string CreatedBy, DateTimeOffset CreatedAt,
    bool AllowUnapproved = false);

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
    DateTimeOffset StartedAt,
    RolloutAnalysis? Analysis = null);

public sealed record RolloutStepAdvanced(string Endpoint, Guid RolloutId, int Step, int CanaryWeight, DateTimeOffset AdvancedAt);

public sealed record RolloutPromoted(string Endpoint, Guid RolloutId, int Version, string PromotedBy, DateTimeOffset PromotedAt);

public sealed record RolloutAborted(string Endpoint, Guid RolloutId, int Version, string Reason, string AbortedBy, DateTimeOffset AbortedAt);

public sealed record EndpointRolledBack(string Endpoint, int FromVersion, int ToVersion, string ToArtifactUri, string ToArtifactSha256, string Reason, string RolledBackBy, DateTimeOffset RolledBackAt);

/// <summary>The control plane's verdict (<see cref="CanaryAnalysis"/>) on one measurement of a canary step.</summary>
public sealed record RolloutAnalysisRecorded(
    string Endpoint, Guid RolloutId, int Step, VersionMetrics Canary, VersionMetrics Stable, string Verdict, string? Detail, DateTimeOffset ObservedAt);

/// <summary>The analysis found the canary in breach: the stable version takes all traffic back.</summary>
public sealed record CanaryRolledBack(string Endpoint, Guid RolloutId, int Version, string Reason, string RolledBackBy, DateTimeOffset RolledBackAt);

/// <summary>The rollout's version could not be loaded by the endpoint's replica (corrupt or missing artifact): what
/// served before takes all traffic back.</summary>
public sealed record RolloutFailed(string Endpoint, Guid RolloutId, int Version, string Reason, string ReportedBy, DateTimeOffset FailedAt);

/// <summary>The endpoint is deleted: nothing is served, its replicas are to stop; its history stays.</summary>
public sealed record EndpointDeleted(string Endpoint, string Reason, string DeletedBy, DateTimeOffset DeletedAt);

public sealed record EndpointReplicaChanged(
    string Endpoint, string Replica, ReplicaChange Change, string Runtime, string? Url, string? Reason, int? ExitCode, DateTimeOffset ChangedAt);

/// <summary>A replica as the endpoint's decisions know it: its last change and its address.</summary>
public sealed record KnownReplica(ReplicaChange LastChange, string? Url);

/// <summary>Where a version's drift stands, as the next window's decision needs it: the end of its last judged window,
/// the drifting (since <paramref name="DriftingSince"/>) or clean windows in a row, and its open alarm.</summary>
public sealed record VersionDrift(int Version, DateTimeOffset LastWindowEnd, int Drifting, int Clean, DateTimeOffset? DriftingSince, Guid? Alarm);

public sealed record EndpointStateObserved(
    string Endpoint, long Revision, bool Ready, string? Message, DateTimeOffset ObservedAt, IReadOnlyList<LoadedVersion>? Loaded = null);

/// <summary>An endpoint's desired state and history (stream <c>endpoint:{name}</c>). Every change of
/// the desired state bumps <see cref="Revision"/>, which agents use to ignore stale work orders. A deleted endpoint
/// keeps its state (history; <see cref="DeletedAt"/>) until the name is created again.</summary>
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
    long ObservedRevision = 0,
    DateTimeOffset? DeletedAt = null,
    bool AllowUnapproved = false,
    TrafficSplit? LastGood = null,
    IReadOnlyDictionary<string, KnownReplica>? Replicas = null,
    IReadOnlyList<VersionDrift>? Drift = null,
    int IdleAnalyses = 0)
{
    /// <summary>The stream version: what a caller passes as <c>expectedVersion</c> to roll out only if nothing changed since.</summary>
    [Marten.Schema.Version]
    public long StreamVersion { get; init; }

    public bool Deleted => DeletedAt is not null;

    public int? StableVersion => Rollout is null
        ? Traffic.FirstOrDefault()?.Version
        : Rollout.Previous is { } previous ? previous.FirstOrDefault()?.Version : Traffic.FirstOrDefault(t => t.Version != Rollout.Version)?.Version;

    /// <summary>The desired state agents and serving processes converge to: the traffic, and the last version a replica
    /// loaded (weight 0) as the fallback a replica serves should the others fail to load; for the drift agent, the model's
    /// drift policy and each version's training baseline (see <see cref="EndpointOrders"/>).</summary>
    public ApplyEndpoint Desired(DriftPolicy drift, IReadOnlyDictionary<int, ArtifactRef> baselines)
    {
        var fallback = LastGood is { } good && !Deleted && Traffic.All(t => t.Version != good.Version) ? [good with { Weight = 0 }] : Array.Empty<TrafficSplit>();
        return new(Name, Revision, [.. Traffic.Concat(fallback).Select(t =>
                new ServedVersion(ModelName, t.Version, t.ArtifactUri, t.ArtifactSha256, t.Weight, baselines.GetValueOrDefault(t.Version)))],
            MinReplicas, MaxReplicas, CanaryOrder(), Deleted, Drift: drift);
    }

    /// <summary>The versions an order serves (the fallback included): those whose baselines it carries.</summary>
    public IEnumerable<int> OrderedVersions => Traffic.Select(t => t.Version).Concat(LastGood is { } good ? [good.Version] : []).Distinct();

    private CanaryAnalysisOrder? CanaryOrder() =>
        Rollout is { Analysis: { } analysis } r && StableVersion is { } stable
            ? new CanaryAnalysisOrder(r.RolloutId, r.Step, r.Version, stable, r.Steps[r.Step], analysis)
            : null;

    public static EndpointState Create(EndpointCreated e) =>
        new(StreamKeys.Endpoint(e.Endpoint), e.Endpoint, e.ModelName, e.MinReplicas, e.MaxReplicas, e.CreatedBy, e.CreatedAt, 0, [], null, [], [],
            AllowUnapproved: e.AllowUnapproved);

    /// <summary>The name created again after its deletion. The revision keeps growing, so that serving processes never
    /// take the new endpoint's state for a stale one; the serving history stays while it serves the same model.</summary>
    public EndpointState Apply(EndpointCreated e)
    {
        var sameModel = e.ModelName == ModelName;
        return Create(e) with { Revision = Revision + 1, Served = sameModel ? Served : [], Rollouts = sameModel ? Rollouts : [] };
    }

    public EndpointState Apply(RolloutStarted e)
    {
        // Events from before the analysis existed carry none: they were judged by the defaults.
        var analysis = e.Kind == RolloutKind.Canary ? e.Analysis ?? RolloutAnalysis.Default : null;
        var rollout = new RolloutInProgress(e.RolloutId, e.Version, e.ArtifactUri, e.ArtifactSha256, e.Kind, e.Steps, 0, e.StartedBy, e.StartedAt,
            e.StartedAt, analysis, Revision + 1, Traffic);
        // An immediate rollout asks for the new version at once; it is promoted once a replica reports it loaded.
        if (e.Kind == RolloutKind.Immediate)
            return this with { Rollout = rollout, Traffic = [new TrafficSplit(e.Version, e.ArtifactUri, e.ArtifactSha256, 100)], Revision = Revision + 1 };
        var weight = e.Steps[0].Weight;
        return this with
        {
            Rollout = rollout,
            Traffic = [.. Traffic.Select(t => t with { Weight = 100 - weight }), new TrafficSplit(e.Version, e.ArtifactUri, e.ArtifactSha256, weight)],
            Served = [.. Served, new ServingPeriod(e.Version, e.StartedAt, null)],
            Revision = Revision + 1,
            IdleAnalyses = 0,
        };
    }

    public EndpointState Apply(RolloutStepAdvanced e) => this with
    {
        Rollout = Rollout! with { Step = e.Step, StepStartedAt = e.AdvancedAt },
        IdleAnalyses = 0,
        Traffic = [.. Traffic.Select(t => t with { Weight = t.Version == Rollout.Version ? e.CanaryWeight : 100 - e.CanaryWeight })],
        Revision = Revision + 1,
    };

    /// <summary>Counts the current step's measurements in a row without enough canary traffic (the progress deadline's clock;
    /// decision state only, not part of the endpoint's view).</summary>
    public EndpointState Apply(RolloutAnalysisRecorded e) => Rollout is { } r && r.RolloutId == e.RolloutId && r.Step == e.Step
        ? this with { IdleAnalyses = e.Verdict == CanaryAnalysis.TooFewSamples ? IdleAnalyses + 1 : 0 }
        : this;

    public EndpointState Apply(RolloutPromoted e)
    {
        var r = Rollout!;
        var served = Served.Any(p => p.Version == r.Version && p.To is null) ? Served : [.. Served, new ServingPeriod(r.Version, e.PromotedAt, null)];
        return (this with
        {
            Traffic = [new TrafficSplit(r.Version, r.ArtifactUri, r.ArtifactSha256, 100)],
            Served = EndServing(served, keep: r.Version, at: e.PromotedAt),
            Rollout = null,
            Rollouts = [.. Rollouts, new RolloutOutcome(r.RolloutId, r.Version, r.Kind, "promoted", e.PromotedBy, r.StartedAt, e.PromotedAt, null)],
            Revision = Revision + 1,
        }).StreaksEnded();
    }

    public EndpointState Apply(RolloutAborted e) => EndRollout("aborted", e.AbortedBy, e.AbortedAt, e.Reason);

    public EndpointState Apply(CanaryRolledBack e) => EndRollout("rolled back", e.RolledBackBy, e.RolledBackAt, e.Reason);

    public EndpointState Apply(RolloutFailed e) => EndRollout("failed to load", e.ReportedBy, e.FailedAt, e.Reason);

    public EndpointState Apply(EndpointDeleted e)
    {
        var ended = Rollout is null ? this with { Revision = Revision + 1 } : EndRollout("aborted", e.DeletedBy, e.DeletedAt, "endpoint deleted");
        return (ended with { Traffic = [], Served = EndServing(ended.Served, keep: null, at: e.DeletedAt), DeletedAt = e.DeletedAt }).StreaksEnded();
    }

    public EndpointState Apply(EndpointRolledBack e) => (this with
    {
        Traffic = [new TrafficSplit(e.ToVersion, e.ToArtifactUri, e.ToArtifactSha256, 100)],
        Served = [.. EndServing(Served, keep: null, at: e.RolledBackAt), new ServingPeriod(e.ToVersion, e.RolledBackAt, null)],
        Revision = Revision + 1,
    }).StreaksEnded();

    /// <summary>What a replica reports it serves; the version it serves most (of the desired ones) is known to load.</summary>
    public EndpointState Apply(EndpointStateObserved e) => this with
    {
        ObservedRevision = e.Revision,
        LastGood = (e.Loaded ?? []).Where(l => l.Weight > 0).OrderByDescending(l => l.Weight)
            .Select(l => Traffic.Concat(LastGood is null ? [] : [LastGood]).FirstOrDefault(t => t.Version == l.Version && t.ArtifactSha256 == l.Sha256))
            .FirstOrDefault(t => t is not null) ?? LastGood,
    };

    /// <summary>The last change of each replica and where it answers: what tells a replica's start from one already recorded.</summary>
    public EndpointState Apply(EndpointReplicaChanged e) => this with
    {
        Replicas = new Dictionary<string, KnownReplica>(Replicas ?? new Dictionary<string, KnownReplica>())
        {
            [e.Replica] = new(e.Change, e.Url ?? Replicas?.GetValueOrDefault(e.Replica)?.Url),
        },
    };

    /// <summary>A judged window moves its version's streak: drifting windows in a row (since the first one's start) or clean ones.</summary>
    public EndpointState Apply(EndpointDriftMeasured e)
    {
        var before = Drift?.FirstOrDefault(d => d.Version == e.Version);
        var now = e.Drifted
            ? new VersionDrift(e.Version, e.WindowEnd, (before?.Drifting ?? 0) + 1, 0, before is { Drifting: > 0 } ? before.DriftingSince : e.WindowStart, before?.Alarm)
            : new VersionDrift(e.Version, e.WindowEnd, 0, (before?.Clean ?? 0) + 1, null, before?.Alarm);
        return this with { Drift = [.. (Drift ?? []).Where(d => d.Version != e.Version), now] };
    }

    public EndpointState Apply(DriftDetected e) => WithAlarm(e.Version, e.AlarmId);

    public EndpointState Apply(DriftCleared e) => WithAlarm(e.Version, null);

    /// <summary>Served: taking traffic, or still in its serving period (the version an immediate rollout replaces, until promoted).</summary>
    public IReadOnlySet<int> ServingVersions() => Traffic.Select(t => t.Version).Concat(Served.Where(p => p.To is null).Select(p => p.Version)).ToHashSet();

    /// <summary>When <paramref name="version"/> began its current serving: its open serving period, or the immediate rollout
    /// putting it in service now (its period opens once promoted).</summary>
    public DateTimeOffset? ServingSince(int version) =>
        Served.LastOrDefault(p => p.Version == version && p.To is null)?.From ?? (Rollout?.Version == version ? Rollout.StartedAt : null);

    /// <summary>Windows in a row are those of one serving period: a version that stops serving starts its streaks over should it
    /// serve again. Its last window's end stays, so that a window from before is still a replay; its open alarm is ended by the
    /// <see cref="DriftCleared"/> of the same decision (<see cref="EndingAlarms"/>).</summary>
    private EndpointState StreaksEnded()
    {
        if (Drift is null) return this;
        var serving = ServingVersions();
        return this with { Drift = [.. Drift.Select(d => serving.Contains(d.Version) ? d : d with { Drifting = 0, Clean = 0, DriftingSince = null })] };
    }

    private EndpointState WithAlarm(int version, Guid? alarm) =>
        this with { Drift = [.. (Drift ?? []).Select(d => d.Version == version ? d with { Alarm = alarm } : d)] };

    /// <summary>Ends the rollout in flight without promoting it: the stable version takes all traffic back.</summary>
    private EndpointState EndRollout(string outcome, string by, DateTimeOffset at, string? reason)
    {
        var r = Rollout!;
        return (this with
        {
            // What served before the rollout serves again (histories from before Previous was kept: the others at 100 %).
            Traffic = r.Previous ?? [.. Traffic.Where(t => t.Version != r.Version).Select(t => t with { Weight = 100 })],
            Served = EndServing(Served, keep: StableVersion, at: at),
            Rollout = null,
            Rollouts = [.. Rollouts, new RolloutOutcome(r.RolloutId, r.Version, r.Kind, outcome, by, r.StartedAt, at, reason)],
            Revision = Revision + 1,
        }).StreaksEnded();
    }

    /// <summary>The endpoint as clients see it: its state and what its replicas and agents report.</summary>
    public EndpointView ToView(EndpointStatus? status) => new(
        Id, Name, ModelName, MinReplicas, MaxReplicas, CreatedBy, CreatedAt, Revision, Traffic, Rollout, Served, Rollouts, status?.Ready, ObservedRevision,
        status?.ObservedMessage, status?.ObservedLoaded, status?.DriftStatus(),
        status?.RecentAnalysis?.Select(a => new AnalysisRecord(a.Endpoint, a.RolloutId, a.Step, a.Canary, a.Stable, a.Verdict, a.Detail, a.ObservedAt)).ToList(),
        status?.Replicas, DeletedAt, AllowUnapproved, LastGood, StreamVersion, Deleted, StableVersion,
        status?.AnalysisRecords - status?.RecentAnalysis?.Count is > 0 and var leftOut ? leftOut : null);

    public EndpointSummary ToSummary(EndpointStatus? status) =>
        new(Name, ModelName, MinReplicas, MaxReplicas, Revision, Traffic, Rollout, status?.Ready, ObservedRevision, Deleted, DeletedAt,
            status?.OpenDriftAlarms?.Count ?? 0);

    private static IReadOnlyList<ServingPeriod> EndServing(IReadOnlyList<ServingPeriod> served, int? keep, DateTimeOffset at) =>
        [.. served.Select(p => p.To is null && p.Version != keep ? p with { To = at } : p)];
}
