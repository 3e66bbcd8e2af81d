using System.Security.Cryptography;
using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Auth;
using Marten;
using Wolverine;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>A command about one training run, which that run's own scoped token may send (tracking calls).</summary>
public interface IRunScoped
{
    Guid RunId { get; }
}

/// <summary>Wolverine middleware in front of every command, whatever its way in (HTTP or any bus): authenticates the
/// sender's token from the envelope, checks that it may send this command (its role; for agents' facts, the grant of the
/// work order they are about), checks the inputs' shape, refuses already-handled command ids, and stamps actor,
/// correlation and causation on the session; afterwards, answers a publisher that awaits an answer.</summary>
public static class CommandGate
{
    public static async Task<Actor> BeforeAsync(ICommand command, Envelope envelope, IDocumentSession session, Tokens tokens, TimeProvider time)
    {
        var actor = await AdmitAsync(command, envelope.Headers.GetValueOrDefault(BusHeaders.Token), envelope.Headers.GetValueOrDefault(BusHeaders.Grant), tokens);
        var before = command is IPeriodic ? null : await session.LoadAsync<HandledCommand>(command.CommandId);
        Record(command, before, actor, envelope.CorrelationId ?? envelope.Id.ToString(), session, time);
        return actor;
    }

    /// <summary>The checks that need no database: the sender's token, whether it may send this command, the inputs' shape.</summary>
    public static async Task<Actor> AdmitAsync(ICommand command, string? token, string? grant, Tokens tokens)
    {
        var actor = await tokens.AuthenticateAsync(token);
        Authorize(command, actor, await tokens.GrantScopeAsync(grant));
        Guard.Id("commandId", command.CommandId);
        Inputs.Check(command);
        return actor;
    }

    /// <summary>In the command's transaction: refuses an id handled before (<paramref name="before"/>, read in that
    /// transaction), records this one, stamps who and why on the events. Answers the record (none for periodic commands).</summary>
    public static HandledCommand? Record(ICommand command, HandledCommand? before, Actor actor, string correlationId, IDocumentSession session, TimeProvider time)
    {
        session.LastModifiedBy = actor.Name;
        session.CorrelationId = correlationId;
        session.CausationId = command.CommandId.ToString();
        if (command is IPeriodic)
            return null;
        var fingerprint = Fingerprint(command);
        if (before is not null)
            throw Repeated(before, fingerprint);
        // Inserted (not stored) so that a concurrent duplicate fails at commit instead of double-appending.
        var handled = new HandledCommand(command.CommandId, command.GetType().Name, actor.Name, time.GetUtcNow(), fingerprint);
        session.Insert(handled);
        return handled;
    }

    /// <summary>A publisher awaiting an answer gets it once the command's transaction commits.</summary>
    public static Task AfterAsync(ICommand command, Envelope envelope, IDocumentSession session, IMessageContext bus) =>
        PublisherAnswers.AnswerAcceptedAsync(command, envelope, session, bus);

    /// <summary>A second delivery of a handled command is a duplicate; the same id on another command is a mistake.</summary>
    public static Exception Repeated(HandledCommand handled, string fingerprint) =>
        handled.Fingerprint is null || handled.Fingerprint == fingerprint
            ? new AlreadyHandled(handled.Id)
            : new Refused($"command id {handled.Id} was already used for another {handled.Type} command; every command needs a new id");

    /// <summary>Facts are accepted only from whoever holds the work they are about: an agent with that work order's grant,
    /// or — for what a replica observes — the endpoint's own replica token. Everything else needs its role.</summary>
    private static void Authorize(ICommand command, Actor actor, string? grant)
    {
        var type = command.GetType().Name;
        string? scope = command switch
        {
            IRunFact f => Scopes.Run(f.RunId),
            IEndpointFact f => Scopes.Endpoint(f.Endpoint),
            _ => null,
        };
        if ((command is IReplicaFact observed && actor.Endpoint == observed.Endpoint) || (command is IRunScoped onRun && actor.Run == onRun.RunId))
            return;
        if (actor.IsScoped)
            throw new Forbidden($"{actor.Name} holds a token scoped to {(actor.Run is { } run ? $"run {run:N}" : $"endpoint '{actor.Endpoint}'")} only; it cannot send {type} here");
        var role = CommandRoles.For(command.GetType());
        if (!actor.IsIn(role))
            throw new Forbidden($"{type} needs the role '{role}'; {actor.Name} has [{string.Join(", ", actor.Roles)}]");
        if (scope is not null && grant != scope)
            throw new Forbidden(grant is null
                ? $"{type} is a fact about {scope}: it needs the grant of that work order ({BusHeaders.Grant} header, or {BusHeaders.GrantHttpHeader} over HTTP)"
                : $"the grant sent with {type} is for other work, not {scope}");
    }

    private static readonly JsonSerializerOptions FingerprintJson = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, // an MLflow metric may be NaN
    };

    /// <summary>A digest of the command's content, to tell a retry from a different command under the same id.</summary>
    public static string Fingerprint(ICommand command) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(command, command.GetType(), FingerprintJson)))[..32];
}

/// <summary>The scopes a work order's grant names.</summary>
public static class Scopes
{
    public static string Run(Guid runId) => $"run:{runId:N}";

    public static string Endpoint(string name) => $"endpoint:{name}";
}
