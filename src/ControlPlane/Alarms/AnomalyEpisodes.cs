using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;

namespace EventMlOps.ControlPlane.Alarms;

public sealed class AnomalyEpisodeProjection : MultiStreamProjection<AnomalyEpisode, string>
{
    public AnomalyEpisodeProjection()
    {
        Identity<AnomalyAlarmRecorded>(e => AnomalyEpisode.Key(e.Endpoint, e.Machine, e.WindowStart));
        Identity<AnomalyAlarmEnded>(e => AnomalyEpisode.Key(e.Endpoint, e.Machine, e.RaisedWindowStart));
    }

    public static AnomalyEpisode Create(AnomalyAlarmRecorded e) =>
        new(AnomalyEpisode.Key(e.Endpoint, e.Machine, e.WindowStart), e.Endpoint, e.Machine, e.Version, e.WindowStart, e.WindowEnd, e.Score, e.Threshold,
            e.ReportedBy, e.RecordedAt);

    public static AnomalyEpisode Apply(AnomalyAlarmEnded e, AnomalyEpisode episode) =>
        episode with { Open = false, ClearedWindowEnd = e.ClearedWindowEnd, Windows = e.Windows, MaxScore = e.MaxScore, ClearedBy = e.ReportedBy, ClearedAt = e.EndedAt };
}

/// <summary>What the alarms slice adds to the store and the API.</summary>
public static class AlarmsSlice
{
    public static void ConfigureAlarms(this StoreOptions o)
    {
        o.Projections.Snapshot<EndpointAlarms>(SnapshotLifecycle.Inline);
        o.Projections.Add<AnomalyEpisodeProjection>(ProjectionLifecycle.Inline);
        o.Schema.For<AnomalyEpisode>().Index(x => x.Endpoint).Index(x => x.Machine);
    }

    /// <summary><c>GET /api/alarms?endpoint=&amp;machine=&amp;open=</c>: anomaly episodes, newest first, one page (<see cref="Paging"/>).</summary>
    public static void MapAlarms(this IEndpointRouteBuilder api, IEndpointRouteBuilder replicas)
    {
        replicas.MapCommand<Contracts.Streams.AnomalyAlarmRaised>("/alarms/facts/raised");
        replicas.MapCommand<Contracts.Streams.AnomalyAlarmCleared>("/alarms/facts/cleared");
        api.MapGet("/alarms", ListAsync).WithName("ListAnomalyEpisodes");
    }

    public static async Task<List<AnomalyEpisode>> ListAsync(string? endpoint, string? machine, bool? open, int? limit, int? offset, IQuerySession session,
        CancellationToken ct)
    {
        IQueryable<AnomalyEpisode> query = session.Query<AnomalyEpisode>();
        if (endpoint is not null) query = query.Where(e => e.Endpoint == Guard.Name("endpoint", endpoint));
        if (machine is not null) query = query.Where(e => e.Machine == machine);
        if (open is { } o) query = query.Where(e => e.Open == o);
        return [.. await query.OrderByDescending(e => e.WindowStart).Page(limit, offset).ToListAsync(ct)];
    }
}
