using System.Reflection;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using Marten;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>The command handlers that <see cref="GroupCommit"/> runs itself: the same static <c>Handle</c> methods Wolverine
/// runs, found the way Wolverine finds them, for every command whose handler only decides and appends (answers a
/// <see cref="CommandAccepted"/>). A handler that also sends messages (a tuple with <c>OutgoingMessages</c>) needs Wolverine's
/// outbox in its transaction, so its command keeps going through Wolverine.</summary>
public sealed class CommandHandlers
{
    public delegate Task<CommandAccepted> Handler(ICommand command, Actor actor, IDocumentSession session, CancellationToken ct);

    private readonly Dictionary<Type, Handler> _handlers = [];

    public CommandHandlers(IServiceProvider services)
    {
        var methods = typeof(CommandHandlers).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: true, IsSealed: true }) // static classes
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.Name == "Handle" && m.GetParameters() is [var first, ..] && typeof(ICommand).IsAssignableFrom(first.ParameterType)
                        && (m.ReturnType == typeof(Task<CommandAccepted>) || m.ReturnType == typeof(CommandAccepted)));
        foreach (var method in methods)
            _handlers.Add(method.GetParameters()[0].ParameterType, Bind(method, services));
    }

    /// <summary>The handler of <paramref name="command"/>'s type, or null when Wolverine must run it.</summary>
    public Handler? For(ICommand command) => _handlers.GetValueOrDefault(command.GetType());

    /// <summary>Parameters as Wolverine fills them: the command, the actor the gate stamped, the session, the cancellation,
    /// and singletons from the container, resolved once here (a missing one fails the start, not a command).</summary>
    private static Handler Bind(MethodInfo method, IServiceProvider services)
    {
        var parameters = method.GetParameters();
        var fixedArgs = parameters.Select(p => p.ParameterType is var t && (p.Position == 0 || t == typeof(Actor) || t == typeof(IDocumentSession)
                                                                             || t == typeof(CancellationToken))
            ? null
            : services.GetService(t) ?? throw new InvalidOperationException($"{method.DeclaringType!.Name}.Handle needs a {t.Name} the container does not have"))
            .ToArray();
        return async (command, actor, session, ct) =>
        {
            var args = (object?[])fixedArgs.Clone();
            for (var i = 0; i < parameters.Length; i++)
                if (fixedArgs[i] is null)
                    args[i] = i == 0 ? command : parameters[i].ParameterType == typeof(Actor) ? actor
                        : parameters[i].ParameterType == typeof(IDocumentSession) ? session : ct;
            try
            {
                return method.Invoke(null, args) switch
                {
                    Task<CommandAccepted> task => await task,
                    CommandAccepted accepted => accepted,
                    _ => throw new InvalidOperationException($"{method.DeclaringType!.Name}.Handle answered nothing"),
                };
            }
            catch (TargetInvocationException e) when (e.InnerException is { } inner)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
                throw;
            }
        };
    }
}
