using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using Wolverine;

namespace EventMlOps.ControlPlane.Commanding;

public static class CommandRoutes
{
    /// <summary>Maps POST <paramref name="route"/> to a contract command. The HTTP call and a message
    /// published on the bus take the same path: the caller's bearer token travels in the envelope
    /// header, and <see cref="CommandGate"/> authenticates it, checks the role and stamps the actor.</summary>
    public static RouteHandlerBuilder MapCommand<T>(this IEndpointRouteBuilder routes, string route) where T : class, ICommand =>
        routes.MapPost(route, async (T command, HttpContext http, IMessageContext bus, CancellationToken ct) =>
                Results.Ok(await SendAsync(command, http, bus, ct)))
            .WithName(typeof(T).Name)
            .WithSummary($"{typeof(T).Name} (role: {CommandRoles.For(typeof(T))})")
            .Produces<CommandAccepted>()
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409).ProducesProblem(422);

    /// <summary>Hands an HTTP caller's command to Wolverine with the caller's token and correlation.</summary>
    public static async Task<CommandAccepted> SendAsync(ICommand command, HttpContext http, IMessageContext bus, CancellationToken ct)
    {
        var options = new DeliveryOptions();
        options.Headers[BusHeaders.Token] = http.Request.Headers.Authorization.ToString()["Bearer ".Length..].Trim();
        if (http.Request.Headers.TryGetValue("X-Correlation-Id", out var correlation))
            bus.CorrelationId = correlation.ToString();
        try
        {
            return await bus.InvokeAsync<CommandAccepted>(command, options, ct);
        }
        catch (Exception e) when (Duplicate(e))
        {
            return new CommandAccepted(command.CommandId, "", 0, 0, Duplicate: true);
        }
    }

    /// <summary>A command id seen before (or inserted concurrently by a duplicate) appends nothing.</summary>
    private static bool Duplicate(Exception e) =>
        e is AlreadyHandled || e.GetType().Name == "DocumentAlreadyExistsException" || (e.InnerException is { } inner && Duplicate(inner));
}
