using EventMlOps.Contracts.Drift;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>A feature's score in a window as the control plane judged it, by the threshold of the model's policy.</summary>
public sealed record FeatureJudgement(string Feature, FeatureRole Role, DriftMethod Method, double Score, double Threshold, bool Drifted, int Samples);

/// <summary>One measured window of an endpoint's traffic of one version (on the endpoint's stream), judged:
/// <paramref name="Drifted"/> by the policy's dataset rule.</summary>
public sealed record EndpointDriftMeasured(
    string Endpoint, string ModelName, int Version, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, int Samples,
    IReadOnlyList<FeatureJudgement> Features, bool Drifted, string MeasuredBy, DateTimeOffset MeasuredAt);

/// <summary>A drift alarm: the policy's condition held for <paramref name="Windows"/> windows in a row, the first
/// starting at <paramref name="FirstWindowStart"/>; <paramref name="Features"/> are the drifting ones of the last window.</summary>
public sealed record DriftDetected(
    string Endpoint, string ModelName, int Version, Guid AlarmId, IReadOnlyList<FeatureJudgement> Features, DateTimeOffset FirstWindowStart,
    DateTimeOffset WindowEnd, int Windows, string DetectedBy, DateTimeOffset DetectedAt);

/// <summary>The alarm ended: the policy's clean windows in a row were measured (or the version no longer serves).</summary>
public sealed record DriftCleared(
    string Endpoint, string ModelName, int Version, Guid AlarmId, DateTimeOffset WindowEnd, string Reason, string ClearedBy, DateTimeOffset ClearedAt);
