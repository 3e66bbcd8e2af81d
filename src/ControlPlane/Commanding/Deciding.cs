using EventMlOps.Contracts;
using Marten;

namespace EventMlOps.ControlPlane.Commanding;

public static class Deciding
{
    /// <summary>The one shape of every command handler: fetch the stream for writing (optimistic
    /// concurrency, checked again at commit), run the pure decision, append what it returned.</summary>
    public static async Task<CommandAccepted> DecideAsync<T>(this IDocumentSession session, ICommand command, string stream,
        Func<T?, object[]> decide, long? expectedVersion = null) where T : class
    {
        var target = expectedVersion is { } expected
            ? await session.Events.FetchForWriting<T>(stream, expected)
            : await session.Events.FetchForWriting<T>(stream);
        var events = decide(target.Aggregate);
        target.AppendMany(events);
        return new CommandAccepted(command.CommandId, stream, (target.StartingVersion ?? 0) + events.Length, events.Length);
    }
}
