namespace EventMlOps.Contracts.Views;

/// <summary>One anomaly episode of a machine, open until <see cref="ClearedWindowEnd"/> is set: what <c>emo alarms</c> lists.
/// <see cref="ModelVersion"/>: the version that scored the raising window (not <c>Version</c>, which Marten takes for the document's revision).</summary>
public sealed record AnomalyEpisode(
    string Id, string Endpoint, string Machine, int ModelVersion, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, double Score, double Threshold,
    string RaisedBy, DateTimeOffset RaisedAt, bool Open = true, DateTimeOffset? ClearedWindowEnd = null, int? Windows = null, double? MaxScore = null,
    string? ClearedBy = null, DateTimeOffset? ClearedAt = null)
{
    public static string Key(string endpoint, string machine, DateTimeOffset windowStart) => $"{endpoint}|{machine}|{windowStart.ToUnixTimeMilliseconds()}";
}
