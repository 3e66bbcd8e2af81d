using EventMlOps.Contracts;
using EventMlOps.Contracts.Streams;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;

namespace EventMlOps.ControlPlane.Alarms;

/// <summary>An anomaly episode began on a machine an endpoint's stream scorer watches (on the endpoint's alarms stream).</summary>
public sealed record AnomalyAlarmRecorded(
    string Endpoint, string Machine, int Version, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, double Score, double Threshold,
    string ReportedBy, DateTimeOffset RecordedAt);

/// <summary>The episode begun at <paramref name="RaisedWindowStart"/> ended: its machine's windows are normal again.</summary>
public sealed record AnomalyAlarmEnded(
    string Endpoint, string Machine, int Version, DateTimeOffset RaisedWindowStart, DateTimeOffset ClearedWindowEnd, int Windows, double MaxScore,
    string ReportedBy, DateTimeOffset EndedAt);

/// <summary>An endpoint's alarms stream (<see cref="StreamKeys.Alarms"/>, begun by its first alarm): each machine's open
/// episode (the start of its first window). The episodes themselves are a view (<see cref="AnomalyEpisode"/>).</summary>
public sealed record EndpointAlarms(string Id, IReadOnlyDictionary<string, DateTimeOffset> Open)
{
    [Marten.Schema.Version]
    public long StreamVersion { get; init; }

    public static EndpointAlarms Create(AnomalyAlarmRecorded e) =>
        new(StreamKeys.Alarms(e.Endpoint), new Dictionary<string, DateTimeOffset> { [e.Machine] = e.WindowStart });

    public EndpointAlarms Apply(AnomalyAlarmRecorded e) => this with { Open = new Dictionary<string, DateTimeOffset>(Open) { [e.Machine] = e.WindowStart } };

    public EndpointAlarms Apply(AnomalyAlarmEnded e) =>
        this with { Open = Open.Where(o => o.Key != e.Machine).ToDictionary(o => o.Key, o => o.Value) };
}

/// <summary>Pure decisions on the facts of an endpoint's stream scorer, given whether the endpoint exists (not deleted) and
/// its alarms stream (null before the first alarm). An alarm already open on the machine since the same window is a repeat
/// (nothing appended); a second episode while one is open, or a clearing without its raise, is refused.</summary>
public static class AlarmDecisions
{
    public static object[] Raise(bool endpointLive, EndpointAlarms? alarms, AnomalyAlarmRaised c, string actor, DateTimeOffset now)
    {
        Live(endpointLive, c.Endpoint);
        Common(c.Machine, c.Version, c.WindowStart, c.WindowEnd);
        Finite("score", c.Score);
        Finite("threshold", c.Threshold);
        if (alarms is not null && alarms.Open.TryGetValue(c.Machine, out var open))
            return open == c.WindowStart ? [] : throw new Refused($"machine '{c.Machine}' already has an open anomaly alarm, raised at the window of {open:O}");
        return [new AnomalyAlarmRecorded(c.Endpoint, c.Machine, c.Version, c.WindowStart, c.WindowEnd, c.Score, c.Threshold, actor, now)];
    }

    public static object[] Clear(bool endpointLive, EndpointAlarms? alarms, AnomalyAlarmCleared c, string actor, DateTimeOffset now)
    {
        Live(endpointLive, c.Endpoint);
        Common(c.Machine, c.Version, c.RaisedWindowStart, c.ClearedWindowEnd);
        Finite("maxScore", c.MaxScore);
        if (c.Windows < 1) throw new InvalidField("windows", "must be ≥ 1: an episode has at least the window that raised it");
        if (alarms is null || !alarms.Open.TryGetValue(c.Machine, out var open) || open != c.RaisedWindowStart)
            throw new Refused($"machine '{c.Machine}' has no open anomaly alarm raised at the window of {c.RaisedWindowStart:O}");
        return [new AnomalyAlarmEnded(c.Endpoint, c.Machine, c.Version, c.RaisedWindowStart, c.ClearedWindowEnd, c.Windows, c.MaxScore, actor, now)];
    }

    private static void Live(bool endpointLive, string name)
    {
        if (!endpointLive) throw new NotFound("endpoint", name);
    }

    private static void Common(string machine, int version, DateTimeOffset start, DateTimeOffset end)
    {
        if (!SensorReadings.IsMachine(machine))
            throw new InvalidField("machine", $"{Guard.Shown(machine)} must be 1-{SensorReadings.MaxMachineLength} letters, digits, '.', '_', '-' or ':'");
        if (version < 1) throw new InvalidField("version", "must be ≥ 1");
        if (end < start) throw new InvalidField("window", "ends before it starts");
    }

    private static void Finite(string field, double value)
    {
        if (!double.IsFinite(value)) throw new InvalidField(field, "must be a finite number");
    }
}

/// <summary>Reads the endpoint's state (never writes its stream, so alarms do not conflict with its lifecycle) and decides on
/// its alarms stream.</summary>
public static class AlarmFactsHandler
{
    public static async Task<Contracts.Views.CommandAccepted> Handle(AnomalyAlarmRaised fact, Auth.Actor actor, Marten.IDocumentSession session, TimeProvider time)
    {
        var live = await LiveAsync(session, fact.Endpoint);
        return await session.DecideAsync<EndpointAlarms>(fact, StreamKeys.Alarms(fact.Endpoint), a => AlarmDecisions.Raise(live, a, fact, actor.Name, time.GetUtcNow()));
    }

    public static async Task<Contracts.Views.CommandAccepted> Handle(AnomalyAlarmCleared fact, Auth.Actor actor, Marten.IDocumentSession session, TimeProvider time)
    {
        var live = await LiveAsync(session, fact.Endpoint);
        return await session.DecideAsync<EndpointAlarms>(fact, StreamKeys.Alarms(fact.Endpoint), a => AlarmDecisions.Clear(live, a, fact, actor.Name, time.GetUtcNow()));
    }

    private static async Task<bool> LiveAsync(Marten.IDocumentSession session, string endpoint) =>
        await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(endpoint)) is { Deleted: false };
}
