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

public static class RestoreEnvironmentHandler
{
    public static async Task<(CommandAccepted, OutgoingMessages)> Handle(RestoreEnvironment command, Actor actor, IDocumentSession session, Tokens tokens,
        TimeProvider time)
    {
        var head = await session.Events.QueryAllRawEvents().OrderByDescending(e => e.Sequence).Select(e => e.Sequence).FirstOrDefaultAsync();
        var live = await session.Query<EndpointState>().Where(e => e.DeletedAt == null).OrderBy(e => e.Name).ToListAsync();
        var restored = await session.Events.FetchStreamStateAsync(StreamKeys.Environment) is not null;
        var events = EnvironmentDecisions.Restore(restored, command, head, [.. live.Select(e => e.Name)], actor, time.GetUtcNow());
        // Started, never appended to: a concurrent second restore collides on the stream (409).
        session.Events.StartStream(StreamKeys.Environment, events);
        var accepted = session.Answered(new CommandAccepted(command.CommandId, StreamKeys.Environment, events.Length, events.Length));
        var orders = new OutgoingMessages();
        foreach (var endpoint in live)
            orders.Add(await session.DesiredAsync(endpoint) with { Grant = tokens.ForEndpoint(endpoint.Name) });
        return (accepted, orders);
    }
}

/// <summary>Pure decisions over the environment's record.</summary>
public static class EnvironmentDecisions
{
    /// <summary>Restores once (<paramref name="restored"/>: this environment's stream exists), right after the history was given
    /// to this store: its last event must be the history's last (<paramref name="head"/>), so that nothing that happened here is
    /// passed off as that history's.</summary>
    public static object[] Restore(bool restored, RestoreEnvironment c, long head, IReadOnlyList<string> endpoints, Actor actor,
        DateTimeOffset now)
    {
        var historyHead = Guard.Sha256("historyHead", c.HistoryHead);
        var source = Guard.Text("source", c.Source, 500) is { Length: > 0 } named ? named : throw new InvalidField("source", "is required: where the history came from");
        if (restored) throw new Refused("this environment was already restored from a history: rebuild into a new home instead");
        if (c.UntilSequence != head)
            throw new Refused($"the store's last event is sequence {head}, not {c.UntilSequence}: restore right after importing that history");
        return [new EnvironmentRestored(c.UntilSequence, historyHead, source, endpoints, actor.Name, now)];
    }
}
