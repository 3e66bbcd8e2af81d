using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Hosting;
using Marten;
using Wolverine;
using Wolverine.Runtime;
using Wolverine.Util;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>An answer owed to a bus publisher that awaits one (a MassTransit request client), sent through the outbox once
/// the command's transaction committed.</summary>
public sealed record PublisherAnswer(AnswerTo To, CommandOutcome Outcome);

/// <summary>Sends an answer the outbox released. The sender is resolved here, not injected: it exists only on RabbitMQ, and
/// the handler's code is also generated ahead of time for hosts on other transports.</summary>
public static class PublisherAnswerHandler
{
    public static Task Handle(PublisherAnswer answer, IWolverineRuntime runtime) =>
        runtime.Services.GetRequiredService<MassTransitAnswers>().SendAsync(answer.To, answer.Outcome);
}

/// <summary>Answers bus publishers that asked for an answer: <c>accepted</c> with the stream and the version the command
/// wrote, <c>duplicate</c> with the first delivery's answer, or <c>refused</c> with the status and reason an HTTP caller
/// gets. A MassTransit request client gets a MassTransit envelope (<see cref="MassTransitAnswers"/>); a Wolverine publisher
/// that invoked the command (<c>InvokeAsync&lt;CommandOutcome&gt;</c>) gets Wolverine's own response (<see cref="WolverineReply"/>).
/// A refusal that was answered is not dead-lettered (the sender knows); one nobody awaits is, as before.</summary>
public static class PublisherAnswers
{
    /// <summary>After a command's handler (<see cref="CommandGate"/>): the answer joins the outbox of its transaction.</summary>
    public static async Task AnswerAcceptedAsync(ICommand command, Envelope envelope, IDocumentSession session, IMessageContext bus)
    {
        var to = AnswerTo.From(envelope);
        var wolverine = WolverineReply.Awaited(envelope) && bus is MessageContext;
        if (to is null && !wolverine) return;
        var answer = session.PendingChanges.InsertsFor<HandledCommand>().FirstOrDefault(h => h.Id == command.CommandId)?.Answer;
        var outcome = new CommandOutcome(command.CommandId, command.GetType().Name, "accepted", answer?.Stream, answer?.Version, answer?.Appended);
        if (to is not null) await bus.PublishAsync(new PublisherAnswer(to, outcome));
        // Wolverine routes a message of the awaited type to the reply address, as the response it awaits.
        else await ((MessageContext)bus).EnqueueCascadingAsync(outcome);
    }

    /// <summary>Wolverine's failure action for a second delivery of a handled command.</summary>
    public static async ValueTask AnswerDuplicateAsync(IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle, Exception exception)
    {
        if (lifecycle.Envelope is { Message: ICommand command } && Awaits(runtime, lifecycle))
        {
            await using var session = runtime.Services.GetRequiredService<IDocumentStore>().QuerySession();
            var first = (await session.LoadAsync<HandledCommand>(command.CommandId))?.Answer;
            await AnswerAsync(runtime, lifecycle, new CommandOutcome(command.CommandId, command.GetType().Name, "duplicate", first?.Stream, first?.Version,
                first?.Appended));
        }
        await lifecycle.CompleteAsync();
    }

    /// <summary>Wolverine's failure action for a refused bus command: recorded for <c>GET /api/commands/{id}</c>, then answered
    /// when its sender awaits an answer, else left in the dead-letter store.</summary>
    public static async ValueTask AnswerRefusalAsync(IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle, Exception exception)
    {
        var refused = await CommandOutcomes.RecordRefusalAsync(runtime, lifecycle, exception);
        if (refused is not null && Awaits(runtime, lifecycle))
        {
            await AnswerAsync(runtime, lifecycle, new CommandOutcome(refused.Id, refused.Type, "refused", Status: refused.Status, Reason: refused.Reason));
            await lifecycle.CompleteAsync();
            return;
        }
        await lifecycle.MoveToDeadLetterQueueAsync(exception);
    }

    private static bool Awaits(IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle) => lifecycle.Envelope is { } envelope
        && ((AnswerTo.From(envelope) is not null && runtime.Services.GetService<MassTransitAnswers>() is not null)
            || (WolverineReply.Awaited(envelope) && lifecycle is MessageContext));

    /// <summary>Answers at once: a failed command has no transaction to join (Wolverine rolled it back).</summary>
    private static async Task AnswerAsync(IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle, CommandOutcome outcome)
    {
        if (AnswerTo.From(lifecycle.Envelope!) is { } to) await runtime.Services.GetRequiredService<MassTransitAnswers>().SendAsync(to, outcome);
        else await ((MessageContext)lifecycle).EnqueueCascadingAsync(outcome);
    }
}
