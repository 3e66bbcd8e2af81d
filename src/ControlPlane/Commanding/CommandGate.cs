using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using Marten;
using Wolverine;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>Wolverine middleware in front of every command, whatever its way in (HTTP or any bus):
/// authenticates the sender's token from the envelope, checks the command's role, refuses
/// already-handled command ids, and stamps actor, correlation and causation on the session.</summary>
/// <summary>A command about one training run, which that run's own scoped token may send (tracking calls).</summary>
public interface IRunScoped
{
    Guid RunId { get; }
}

public static class CommandGate
{
    public static async Task<Actor> BeforeAsync(ICommand command, Envelope envelope, IDocumentSession session, Tokens tokens, TimeProvider time)
    {
        var actor = await tokens.AuthenticateAsync(envelope.Headers.GetValueOrDefault(BusHeaders.Token));
        var role = CommandRoles.For(command.GetType());
        if (actor.Run is { } scoped && (command is not IRunScoped onRun || !actor.MayActOnRun(onRun.RunId, role)))
            throw new Forbidden($"{actor.Name} holds a token for run {scoped:N} only; it cannot send {command.GetType().Name} here");
        if (actor.Run is null && !actor.IsIn(role))
            throw new Forbidden($"{command.GetType().Name} needs the role '{role}'; {actor.Name} has [{string.Join(", ", actor.Roles)}]");
        Guard.Id("commandId", command.CommandId);

        if (await session.LoadAsync<HandledCommand>(command.CommandId) is not null)
            throw new AlreadyHandled(command.CommandId);
        // Inserted (not stored) so that a concurrent duplicate fails at commit instead of double-appending.
        session.Insert(new HandledCommand(command.CommandId, command.GetType().Name, actor.Name, time.GetUtcNow()));

        session.LastModifiedBy = actor.Name;
        session.CorrelationId = envelope.CorrelationId ?? envelope.Id.ToString();
        session.CausationId = command.CommandId.ToString();
        return actor;
    }
}
