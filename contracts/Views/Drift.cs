using EventMlOps.Contracts.Drift;

namespace EventMlOps.Contracts.Views;

/// <summary>A feature's score in a window and the control plane's verdict on it, by the threshold of the model's policy.</summary>
public sealed record FeatureVerdict(string Feature, FeatureRole Role, DriftMethod Method, double Score, double Threshold, bool Drifted, int Samples);

/// <summary>One judged window of a version's served traffic.</summary>
public sealed record DriftWindow(
    int Version, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, int Samples, bool Drifted, IReadOnlyList<FeatureVerdict> Features,
    string MeasuredBy, DateTimeOffset MeasuredAt);

/// <summary>A drift alarm of an endpoint's version: raised after the policy's drifting windows in a row (from
/// <paramref name="FirstWindowStart"/> to <paramref name="WindowEnd"/>), with the features drifting in the last of them;
/// open while <paramref name="ClearedAt"/> is null.</summary>
public sealed record DriftAlarm(
    Guid AlarmId, string Endpoint, string ModelName, int Version, DateTimeOffset DetectedAt, DateTimeOffset FirstWindowStart, DateTimeOffset WindowEnd,
    int Windows, IReadOnlyList<FeatureVerdict> Features, DateTimeOffset? ClearedAt = null, string? ClearReason = null);

/// <summary>An endpoint's drift at a glance (in <see cref="EndpointView"/>): the last judged window and the open alarms.</summary>
public sealed record DriftStatus(DriftWindow? LastWindow, IReadOnlyList<DriftAlarm> OpenAlarms);

/// <summary>An endpoint's drift history (<c>GET /api/endpoints/{name}/drift</c>): its most recent judged windows and alarms,
/// each list oldest first and at most the <c>limit</c> asked for; as of a point in history when <paramref name="AsOf"/> is set.</summary>
public sealed record EndpointDrift(string Endpoint, string ModelName, IReadOnlyList<DriftWindow> Windows, IReadOnlyList<DriftAlarm> Alarms, string? AsOf);
