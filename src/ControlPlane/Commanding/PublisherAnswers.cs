using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Hosting;
using Marten;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>An answer owed to a bus publisher that awaits one (a MassTransit request client), sent through the outbox once
/// the command's transaction committed.</summary>
public sealed record PublisherAnswer(AnswerTo To, CommandOutcome Outcome);

/// <summary>Sends an answer the outbox released. The sender is resolved here, not injected: it exists only on RabbitMQ, and
/// the handler's code is also generated ahead of time for hosts on other transports.</summary>
public static class PublisherAnswerHandler
{
    public static Task Handle(PublisherAnswer answer, IWolverineRuntime runtime) =>
        runtime.Services.GetRequiredService<BusAnswers>().SendAsync(answer.To, answer.Outcome);
}

/// <summary>Answers bus publishers that asked for an answer — a MassTransit request client, or a Wolverine publisher that
/// invoked the command (<see cref="WolverineReply"/>): <c>accepted</c> with the stream and the version the command wrote,
/// <c>duplicate</c> with the first delivery's answer, or <c>refused</c> with the status and reason an HTTP caller gets.
/// A refusal that was answered is not dead-lettered (the sender knows); one nobody awaits is, as before.</summary>
public static class PublisherAnswers
{
    /// <summary>After a command's handler (<see cref="CommandGate"/>): the answer joins the outbox of its transaction.</summary>
    public static async Task AnswerAcceptedAsync(ICommand command, Envelope envelope, IDocumentSession session, IMessageContext bus)
    {
        if (AnswerTo.From(envelope) is not { } to) return;
        var answer = session.PendingChanges.InsertsFor<HandledCommand>().FirstOrDefault(h => h.Id == command.CommandId)?.Answer;
        await bus.PublishAsync(new PublisherAnswer(to, new CommandOutcome(command.CommandId, command.GetType().Name, "accepted", answer?.Stream,
            answer?.Version, answer?.Appended)));
    }

    /// <summary>Wolverine's failure action for a second delivery of a handled command.</summary>
    public static async ValueTask AnswerDuplicateAsync(IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle, Exception exception)
    {
        if (lifecycle.Envelope is { Message: ICommand command } envelope && AnswerTo.From(envelope) is { } to
            && runtime.Services.GetService<BusAnswers>() is { } answers)
        {
            await using var session = runtime.Services.GetRequiredService<IDocumentStore>().QuerySession();
            var first = (await session.LoadAsync<HandledCommand>(command.CommandId))?.Answer;
            await answers.SendAsync(to, new CommandOutcome(command.CommandId, command.GetType().Name, "duplicate", first?.Stream, first?.Version, first?.Appended));
        }
        await lifecycle.CompleteAsync();
    }

    /// <summary>Wolverine's failure action for a refused bus command: recorded for <c>GET /api/commands/{id}</c>, then answered
    /// when its sender awaits an answer, else left in the dead-letter store.</summary>
    public static async ValueTask AnswerRefusalAsync(IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle, Exception exception)
    {
        var refused = await CommandOutcomes.RecordRefusalAsync(runtime, lifecycle, exception);
        if (refused is not null && lifecycle.Envelope is { } envelope && AnswerTo.From(envelope) is { } to
            && runtime.Services.GetService<BusAnswers>() is { } answers)
        {
            await answers.SendAsync(to, new CommandOutcome(refused.Id, refused.Type, "refused", Status: refused.Status, Reason: refused.Reason));
            await lifecycle.CompleteAsync();
            return;
        }
        await lifecycle.MoveToDeadLetterQueueAsync(exception);
    }
}
