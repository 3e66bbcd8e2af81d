using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
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
        return session.Answered(new CommandAccepted(command.CommandId, stream, (target.StartingVersion ?? 0) + events.Length, events.Length));
    }

    /// <summary>Records the answer with the command's <see cref="HandledCommand"/>, in the same transaction: a retry of
    /// the command, however concurrent, is answered the same.</summary>
    public static CommandAccepted Answered(this IDocumentSession session, CommandAccepted accepted)
    {
        foreach (var handled in session.PendingChanges.InsertsFor<HandledCommand>())
            if (handled.Id == accepted.CommandId)
                handled.Answer = accepted;
        return accepted;
    }
}
