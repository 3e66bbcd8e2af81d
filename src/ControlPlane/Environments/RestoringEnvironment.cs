using EventMlOps.Contracts;
using EventMlOps.Contracts.Environments;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.WorkOrders;
using Marten;
using Wolverine;

namespace EventMlOps.ControlPlane.Environments;

/// <summary>This environment was rebuilt from a history: events 1..<paramref name="UntilSequence"/> of
/// <paramref name="Source"/>, whose export ended at chain hash <paramref name="HistoryHead"/>.</summary>
public sealed record EnvironmentRestored(
    long UntilSequence, string HistoryHead, string Source, IReadOnlyList<string> Endpoints, string RestoredBy, DateTimeOffset RestoredAt);

/// <summary>The environment's own stream: the histories it was restored from, oldest first.</summary>
public sealed record EnvironmentRecord(string Id, IReadOnlyList<EnvironmentRestored> Restorations)
{
    public static EnvironmentRecord Create(EnvironmentRestored e) => new(StreamKeys.Environment, [e]);

    public EnvironmentRecord Apply(EnvironmentRestored e) => this with { Restorations = [.. Restorations, e] };
}

public static class RestoreEnvironmentHandler
{
    public static async Task<(CommandAccepted, OutgoingMessages)> Handle(RestoreEnvironment command, Actor actor, IDocumentSession session, Tokens tokens,
        TimeProvider time)
    {
        var head = await session.Events.QueryAllRawEvents().OrderByDescending(e => e.Sequence).Select(e => e.Sequence).FirstOrDefaultAsync();
        var live = await session.Query<EndpointState>().Where(e => e.DeletedAt == null).OrderBy(e => e.Name).ToListAsync();
        var accepted = await session.DecideAsync<EnvironmentRecord>(command, StreamKeys.Environment,
            record => EnvironmentDecisions.Restore(record, command, head, [.. live.Select(e => e.Name)], actor, time.GetUtcNow()));
        var orders = new OutgoingMessages();
        foreach (var endpoint in live)
            orders.Add(await session.DesiredAsync(endpoint) with { Grant = tokens.ForEndpoint(endpoint.Name) });
        return (accepted, orders);
    }
}

/// <summary>Pure decisions over the environment's record.</summary>
public static class EnvironmentDecisions
{
    /// <summary>Restores once, right after the history was given to this store: its last event must be the history's last
    /// (<paramref name="head"/>), so that nothing that happened here is passed off as that history's.</summary>
    public static object[] Restore(EnvironmentRecord? record, RestoreEnvironment c, long head, IReadOnlyList<string> endpoints, Actor actor,
        DateTimeOffset now)
    {
        var historyHead = Guard.Sha256("historyHead", c.HistoryHead);
        var source = Guard.Text("source", c.Source, 500) is { Length: > 0 } named ? named : throw new InvalidField("source", "is required: where the history came from");
        if (record is not null)
            throw new Refused($"this environment was already restored from {Guard.Shown(record.Restorations[^1].Source)} " +
                               $"(history up to sequence {record.Restorations[^1].UntilSequence})");
        if (c.UntilSequence != head)
            throw new Refused($"the store's last event is sequence {head}, not {c.UntilSequence}: restore right after importing that history");
        return [new EnvironmentRestored(c.UntilSequence, historyHead, source, endpoints, actor.Name, now)];
    }
}
