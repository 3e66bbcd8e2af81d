using EventMlOps.ControlPlane.Drift;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>What an endpoint's replicas and agents report — readiness, what is loaded, the canary's recent analysis,
/// the replicas, the last drift window and the open drift alarms — projected from its stream into a document of its own (inline), apart from the endpoint's decision
/// state, which none of it informs. Time travel aggregates it live like any stream view.</summary>
public sealed record EndpointStatus(
    string Id,
    string Name,
    bool? Ready = null,
    string? ObservedMessage = null,
    IReadOnlyList<LoadedVersion>? ObservedLoaded = null,
    DriftWindow? LastDriftWindow = null,
    IReadOnlyList<DriftAlarm>? OpenDriftAlarms = null,
    IReadOnlyList<RolloutAnalysisRecorded>? RecentAnalysis = null,
    IReadOnlyList<ReplicaState>? Replicas = null,
    int AnalysisRecords = 0)
{
    /// <summary>How many analysis records are kept: enough to read how the current step goes.</summary>
    public const int RecentAnalysisKept = 10;

    public static EndpointStatus Create(EndpointCreated e) => new(StreamKeys.Endpoint(e.Endpoint), e.Endpoint);

    /// <summary>Created again after a deletion: its replicas stay listed (they may still be stopping), the rest starts over.</summary>
    public EndpointStatus Apply(EndpointCreated e) => Create(e) with { Replicas = Replicas };

    public EndpointStatus Apply(EndpointStateObserved e) => this with { Ready = e.Ready, ObservedMessage = e.Message, ObservedLoaded = e.Loaded };

    /// <summary>A new canary is analysed afresh.</summary>
    public EndpointStatus Apply(RolloutStarted e) => e.Kind == RolloutKind.Canary ? this with { RecentAnalysis = [], AnalysisRecords = 0 } : this;

    /// <summary>The last <see cref="RecentAnalysisKept"/> records, and how many the canary has had (so a reader knows what was left out).</summary>
    public EndpointStatus Apply(RolloutAnalysisRecorded e) =>
        this with { RecentAnalysis = [.. (RecentAnalysis ?? []).TakeLast(RecentAnalysisKept - 1), e], AnalysisRecords = AnalysisRecords + 1 };

    public EndpointStatus Apply(EndpointDriftMeasured e) => this with { LastDriftWindow = e.ToView() };

    public EndpointStatus Apply(DriftDetected e) => this with { OpenDriftAlarms = [.. OpenDriftAlarms ?? [], e.ToView()] };

    public EndpointStatus Apply(DriftCleared e) => this with { OpenDriftAlarms = [.. (OpenDriftAlarms ?? []).Where(a => a.AlarmId != e.AlarmId)] };

    public DriftStatus? DriftStatus() =>
        LastDriftWindow is null && OpenDriftAlarms is not { Count: > 0 } ? null : new(LastDriftWindow, OpenDriftAlarms ?? []);

    public EndpointStatus Apply(EndpointReplicaChanged e)
    {
        var before = Replicas?.FirstOrDefault(r => r.Name == e.Replica);
        // Waiting to start (no node fits it, its image cannot be pulled) is not a restart: the runtime retries it.
        var restarts = e.Change switch
        {
            ReplicaChange.Started => 0,
            ReplicaChange.Restarted => (before?.Restarts ?? 0) + 1,
            _ => before?.Restarts ?? 0,
        };
        // A stopped replica stays listed (with why it stopped) until it starts again under the same name.
        var replica = new ReplicaState(e.Replica, e.Runtime, e.Url ?? before?.Url, restarts, e.Change, e.Reason, e.ExitCode, e.ChangedAt);
        return this with { Replicas = [.. (Replicas ?? []).Where(r => r.Name != e.Replica).Append(replica).OrderBy(r => r.Name, StringComparer.Ordinal)] };
    }
}
