using EventMlOps.Contracts;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>A drift alarm retrains its model: run <paramref name="RunId"/> was requested, by the policy's author, on the latest
/// version of the policy's dataset.</summary>
public sealed record RetrainingRequested(
    Guid AlarmId, string Endpoint, string ModelName, int DriftingVersion, Guid RunId, Guid DatasetId, string RequestedBy, DateTimeOffset RequestedAt);

/// <summary>The model's policy retrains on drift, but no run could be requested for the alarm, and why.</summary>
public sealed record RetrainingNotStarted(Guid AlarmId, string Endpoint, string ModelName, int DriftingVersion, string Reason, DateTimeOffset At);

/// <summary>The retrained <paramref name="Version"/> was approved (by <paramref name="ApprovedBy"/>) and the policy's rollout
/// started on the endpoint that raised the alarm.</summary>
public sealed record RetrainedRolloutStarted(Guid AlarmId, string Endpoint, int Version, Guid RolloutId, string ApprovedBy, DateTimeOffset StartedAt);

/// <summary>The retrained version was approved, but the policy's rollout could not start on the endpoint (busy, gone …), and why.</summary>
public sealed record RetrainedRolloutNotStarted(Guid AlarmId, string Endpoint, int Version, string Reason, DateTimeOffset At);

/// <summary>What the closed loop decided for one drift alarm (stream <c>retraining:{alarmId}</c>): the run it requested (or why
/// none), and the rollout it started once that run's version was approved (or why none). What happened between — the run's
/// progress, the version's registration and approval — is read from their own streams.</summary>
public sealed record RetrainingLoop(
    string Id, Guid AlarmId, string Endpoint, string ModelName, int DriftingVersion, DateTimeOffset At, Guid? RunId, string? NotStarted,
    Guid? RolloutId = null, string? RolloutNotStarted = null)
{
    public bool RolloutDecided => RolloutId is not null || RolloutNotStarted is not null;

    public static RetrainingLoop Create(RetrainingRequested e) =>
        new(StreamKeys.Retraining(e.AlarmId), e.AlarmId, e.Endpoint, e.ModelName, e.DriftingVersion, e.RequestedAt, e.RunId, null);

    public static RetrainingLoop Create(RetrainingNotStarted e) =>
        new(StreamKeys.Retraining(e.AlarmId), e.AlarmId, e.Endpoint, e.ModelName, e.DriftingVersion, e.At, null, e.Reason);

    public RetrainingLoop Apply(RetrainedRolloutStarted e) => this with { RolloutId = e.RolloutId };

    public RetrainingLoop Apply(RetrainedRolloutNotStarted e) => this with { RolloutNotStarted = e.Reason };
}
