using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using JasperFx.Events;
using Marten;
using Marten.Events;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>An endpoint's history as a timeline (<c>GET /api/endpoints/{name}/timeline?asOf=&amp;limit=</c>), read from its
/// stream's events. The traffic after each change is the endpoint's own state folded through the events that move traffic
/// (<see cref="EndpointState"/>'s Create/Apply, so nothing is computed twice); those are few — a handful per rollout —
/// while analysis records and replica changes, which can be many, are read newest first and bounded by the limit.</summary>
public static class EndpointTimelineQuery
{
    private static readonly Type[] TrafficEvents =
    [
        typeof(EndpointCreated), typeof(RolloutStarted), typeof(RolloutStepAdvanced), typeof(RolloutPromoted), typeof(RolloutAborted),
        typeof(CanaryRolledBack), typeof(RolloutFailed), typeof(EndpointRolledBack), typeof(EndpointDeleted),
    ];

    public static async Task<EndpointTimeline> ReadAsync(IQuerySession session, string name, AsOf? asOf, int? limit, CancellationToken ct)
    {
        var take = Paging.Limit(limit);
        var stream = StreamKeys.Endpoint(name);
        var changes = await Events(session, stream, asOf, TrafficEvents).OrderBy(e => e.Sequence).ToListAsync(ct);
        if (changes.Count == 0) throw new NotFound("endpoint", name + (asOf is null ? "" : $" as of {asOf}"));

        EndpointState? state = null;
        var traffic = new List<TrafficPoint>();
        var marks = new List<RolloutMark>();
        var started = new Dictionary<Guid, RolloutStarted>();
        foreach (var e in changes)
        {
            state = Fold(state, e.Data);
            IReadOnlyList<VersionWeight> weights = [.. state.Traffic.Select(t => new VersionWeight(t.Version, t.Weight))];
            if (traffic.Count == 0 || !traffic[^1].Weights.SequenceEqual(weights))
                traffic.Add(new TrafficPoint(e.Sequence, e.Timestamp, weights));
            if (e.Data is RolloutStarted s) started[s.RolloutId] = s;
            marks.Add(Mark(e, state));
        }

        var analysis = (await Events(session, stream, asOf, typeof(RolloutAnalysisRecorded)).OrderByDescending(e => e.Sequence).Take(take).ToListAsync(ct))
            .Select(e => (RolloutAnalysisRecorded)e.Data).Reverse().ToList();
        var canaries = started.Values.Where(s => s.Kind == RolloutKind.Canary && analysis.Any(a => a.RolloutId == s.RolloutId))
            .Select(s => new CanarySeries(s.RolloutId, s.Version, s.StableVersion, s.Steps, s.Analysis ?? RolloutAnalysis.Default, s.StartedAt,
                [.. analysis.Where(a => a.RolloutId == s.RolloutId)
                    .Select(a => new AnalysisRecord(a.Endpoint, a.RolloutId, a.Step, a.Canary, a.Stable, a.Verdict, a.Detail, a.ObservedAt))]))
            .ToList();
        var replicas = (await Events(session, stream, asOf, typeof(EndpointReplicaChanged)).OrderByDescending(e => e.Sequence).Take(take).ToListAsync(ct))
            .Select(e => (e, r: (EndpointReplicaChanged)e.Data)).Reverse()
            .Select(x => new ReplicaMark(x.e.Sequence, x.r.ChangedAt, x.r.Replica, x.r.Change, x.r.ExitCode, x.r.Reason)).ToList();
        return new EndpointTimeline(state!.Name, state.ModelName, [.. traffic.TakeLast(take)], [.. marks.TakeLast(take)], canaries, replicas,
            asOf?.ToString());
    }

    private static EndpointState Fold(EndpointState? state, object e) => e switch
    {
        EndpointCreated c => state is null ? EndpointState.Create(c) : state.Apply(c),
        RolloutStarted s => state!.Apply(s),
        RolloutStepAdvanced a => state!.Apply(a),
        RolloutPromoted p => state!.Apply(p),
        RolloutAborted a => state!.Apply(a),
        CanaryRolledBack b => state!.Apply(b),
        RolloutFailed f => state!.Apply(f),
        EndpointRolledBack b => state!.Apply(b),
        EndpointDeleted d => state!.Apply(d),
        _ => throw new InvalidOperationException($"{e.GetType().Name} does not move traffic"),
    };

    private static RolloutMark Mark(IEvent e, EndpointState after) => e.Data switch
    {
        EndpointCreated => new(e.Sequence, e.Timestamp, RolloutMarks.Created, null, e.UserName, null),
        RolloutStarted s => new(e.Sequence, e.Timestamp, RolloutMarks.Started, s.Version, e.UserName,
            s.Kind == RolloutKind.Canary ? $"canary {string.Join(" → ", s.Steps.Select(x => $"{x.Weight} %"))}" : "immediate"),
        RolloutStepAdvanced a => new(e.Sequence, e.Timestamp, RolloutMarks.Advanced, after.Rollout?.Version, e.UserName,
            $"step {a.Step + 1}: canary at {a.CanaryWeight} %"),
        RolloutPromoted p => new(e.Sequence, e.Timestamp, RolloutMarks.Promoted, p.Version, e.UserName, null),
        RolloutAborted a => new(e.Sequence, e.Timestamp, RolloutMarks.Aborted, a.Version, e.UserName, a.Reason),
        CanaryRolledBack b => new(e.Sequence, e.Timestamp, RolloutMarks.CanaryRolledBack, b.Version, e.UserName, b.Reason),
        RolloutFailed f => new(e.Sequence, e.Timestamp, RolloutMarks.Failed, f.Version, e.UserName, f.Reason),
        EndpointRolledBack b => new(e.Sequence, e.Timestamp, RolloutMarks.RolledBack, b.ToVersion, e.UserName, $"from v{b.FromVersion}: {b.Reason}"),
        EndpointDeleted d => new(e.Sequence, e.Timestamp, RolloutMarks.Deleted, null, e.UserName, d.Reason),
        _ => throw new InvalidOperationException($"{e.Data.GetType().Name} is no mark"),
    };

    private static IQueryable<IEvent> Events(IQuerySession session, string stream, AsOf? asOf, params Type[] types) =>
        session.Events.QueryAllRawEvents().Where(e => e.StreamKey == stream && e.EventTypesAre(types)).UpTo(asOf);
}
