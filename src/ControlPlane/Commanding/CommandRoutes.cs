using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using Marten;
using Microsoft.AspNetCore.Mvc;
using Wolverine;

namespace EventMlOps.ControlPlane.Commanding;

public static class CommandRoutes
{
    /// <summary>Commands are small: a larger body is refused (413) before it is read.</summary>
    public const long MaxCommandBytes = 64 * 1024;

    public const string CommandLimiter = "commands";

    /// <summary>Maps POST <paramref name="route"/> to a contract command. The HTTP call and a message
    /// published on the bus take the same path: the caller's bearer token travels in the envelope
    /// header, and <see cref="CommandGate"/> authenticates it, checks the role and stamps the actor.</summary>
    public static RouteHandlerBuilder MapCommand<T>(this IEndpointRouteBuilder routes, string route) where T : class, ICommand =>
        routes.MapPost(route, async (T command, HttpContext http, IMessageContext bus, IDocumentStore store, CancellationToken ct) =>
                Results.Ok(await SendAsync(command, Bearer(http.Request), http, bus, store, ct)))
            .WithName(typeof(T).Name)
            .WithSummary($"{typeof(T).Name} (role: {CommandRoles.For(typeof(T))})")
            .WithMetadata(new RequestSizeLimitAttribute(MaxCommandBytes))
            .RequireRateLimiting(CommandLimiter)
            .Produces<CommandAccepted>()
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409).ProducesProblem(413)
            .ProducesProblem(422).ProducesProblem(503);

    /// <summary>The bearer token of an API call ("" when none).</summary>
    public static string Bearer(HttpRequest request) =>
        request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth["Bearer ".Length..].Trim() : "";

    /// <summary>Runs an HTTP caller's command with the caller's token (an API call's bearer token, or the dashboard's
    /// session), grant and correlation: through <see cref="GroupCommit"/> when its handler only decides and appends, else
    /// through Wolverine (its handler sends messages, through the outbox). A command id handled before — also by a
    /// concurrent twin that committed first while this one failed — is answered as it was then (<c>duplicate: true</c>);
    /// the same id on a different command is refused.</summary>
    public static async Task<CommandAccepted> SendAsync(ICommand command, string token, HttpContext http, IMessageContext bus, IDocumentStore store,
        CancellationToken ct)
    {
        var grant = http.Request.Headers.TryGetValue(BusHeaders.GrantHttpHeader, out var g) ? g.ToString() : null;
        var correlation = http.Request.Headers.TryGetValue("X-Correlation-Id", out var c) ? c.ToString()
            : System.Diagnostics.Activity.Current?.RootId ?? Guid.NewGuid().ToString(); // as Wolverine would
        try
        {
            var services = http.RequestServices;
            if (services.GetRequiredService<CommandHandlers>().For(command) is { } handler)
                return await services.GetRequiredService<GroupCommit>().CommitAsync(command, handler, token, grant, correlation, ct);
            var options = new DeliveryOptions();
            options.Headers[BusHeaders.Token] = token;
            if (grant is not null)
                options.Headers[BusHeaders.Grant] = grant;
            bus.CorrelationId = correlation;
            return await bus.InvokeAsync<CommandAccepted>(command, options, ct);
        }
        catch (Exception e) when (e is not (Unauthenticated or Forbidden or InvalidField))
        {
            await using var session = store.QuerySession();
            if (await session.LoadAsync<HandledCommand>(command.CommandId, ct) is not { } handled)
                throw;
            if (CommandGate.Repeated(handled, CommandGate.Fingerprint(command)) is { } repeated and not AlreadyHandled)
                throw repeated;
            return (handled.Answer ?? new CommandAccepted(command.CommandId, "", 0, 0)) with { Duplicate = true };
        }
    }
}
