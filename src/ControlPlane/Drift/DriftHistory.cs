using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using JasperFx.Events;
using Marten;
using Marten.Events;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>An endpoint's drift history (<c>GET /api/endpoints/{name}/drift?asOf=&amp;limit=</c>): its judged windows and
/// alarms are read from its stream's events themselves, newest first in the database and bounded by the limit, so a
/// long history costs no more than a short one; as of a time or sequence, only the events up to it.</summary>
public static class DriftHistory
{
    public const int DefaultWindows = 50;

    public static void MapDrift(this IEndpointRouteBuilder api) =>
        api.MapGet("/endpoints/{name}/drift", (string name, string? asOf, int? limit, IQuerySession session, CancellationToken ct) =>
            ReadAsync(session, name, AsOf.Parse(asOf), Paging.Limit(limit ?? DefaultWindows), ct)).WithName("GetEndpointDrift");

    public static async Task<EndpointDrift> ReadAsync(IQuerySession session, string name, AsOf? asOf, int limit, CancellationToken ct)
    {
        var stream = StreamKeys.Endpoint(name);
        var endpoint = await session.StateAsync<EndpointState>(stream, asOf, ct)
            ?? throw new NotFound("endpoint", name + (asOf is null ? "" : $" as of {asOf}"));
        var windows = await Newest(session, stream, asOf, limit, typeof(EndpointDriftMeasured)).ToListAsync(ct);
        return new EndpointDrift(endpoint.Name, endpoint.ModelName, [.. windows.Select(e => ((EndpointDriftMeasured)e.Data).ToView()).Reverse()],
            await AlarmsAsync(session, name, asOf, limit, ct), asOf?.ToString());
    }

    /// <summary>The endpoint's most recent alarms (oldest first), each with its clearing once it was cleared.</summary>
    public static async Task<IReadOnlyList<DriftAlarm>> AlarmsAsync(IQuerySession session, string name, AsOf? asOf, int limit, CancellationToken ct)
    {
        var stream = StreamKeys.Endpoint(name);
        var detected = await Newest(session, stream, asOf, limit, typeof(DriftDetected)).ToListAsync(ct);
        if (detected.Count == 0) return [];
        // An alarm is cleared after it was raised: the clearings after the oldest alarm listed are all that can end one.
        var since = detected[^1].Sequence;
        var cleared = (await Newest(session, stream, asOf, Paging.MaxPage, typeof(DriftCleared)).Where(e => e.Sequence > since).ToListAsync(ct))
            .Select(e => (DriftCleared)e.Data).ToDictionary(c => c.AlarmId);
        return [.. detected.Select(e => (DriftDetected)e.Data).Select(d => d.ToView(cleared.GetValueOrDefault(d.AlarmId))).Reverse()];
    }

    private static IQueryable<IEvent> Newest(IQuerySession session, string stream, AsOf? asOf, int limit, Type type) =>
        session.Events.QueryAllRawEvents().Where(e => e.StreamKey == stream && e.EventTypesAre(type)).UpTo(asOf)
            .OrderByDescending(e => e.Sequence).Take(limit);

    public static FeatureVerdict ToView(this FeatureJudgement f) => new(f.Feature, f.Role, f.Method, f.Score, f.Threshold, f.Drifted, f.Samples);

    public static DriftWindow ToView(this EndpointDriftMeasured e) =>
        new(e.Version, e.WindowStart, e.WindowEnd, e.Samples, e.Drifted, [.. e.Features.Select(ToView)], e.MeasuredBy, e.MeasuredAt);

    public static DriftAlarm ToView(this DriftDetected e, DriftCleared? cleared = null) =>
        new(e.AlarmId, e.Endpoint, e.ModelName, e.Version, e.DetectedAt, e.FirstWindowStart, e.WindowEnd, e.Windows, [.. e.Features.Select(ToView)],
            cleared?.ClearedAt, cleared?.Reason);
}
