using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using Wolverine;

namespace EventMlOps.Client;

/// <summary>Sends EventMlOps commands from a Wolverine service (any transport the control plane listens on: the route to
/// <see cref="BusHeaders.ControlPlaneQueue"/> is the sender's own configuration).</summary>
/// <example><code>
/// var outcome = await bus.RequestCommandAsync(new RequestTraining(...), token);
/// if (outcome.State == "refused") Console.WriteLine($"{outcome.Status}: {outcome.Reason}");
/// </code></example>
public static class WolverinePublisher
{
    /// <summary>The envelope a command travels in: the sender's token (the actor of the events) and the correlation id that
    /// ends up on every event the command causes.</summary>
    public static DeliveryOptions Options(string token, string? correlationId = null)
    {
        var options = new DeliveryOptions { CorrelationId = correlationId };
        options.Headers[BusHeaders.Token] = token;
        return options;
    }

    /// <summary>Sends <paramref name="command"/> without awaiting an answer (its outcome: <c>GET /api/commands/{commandId}</c>).</summary>
    public static ValueTask SendCommandAsync(this IMessageBus bus, ICommand command, string token, string? correlationId = null) =>
        bus.SendAsync(command, Options(token, correlationId));

    /// <summary>Sends <paramref name="command"/> and waits for its answer, as <see cref="MassTransitPublisher.RequestAsync{T}"/>
    /// does: <c>accepted</c>, <c>duplicate</c> or <c>refused</c>. Answers travel over RabbitMQ, to the response queue Wolverine
    /// keeps for this node.</summary>
    public static Task<CommandOutcome> RequestCommandAsync(this IMessageBus bus, ICommand command, string token, string? correlationId = null,
        TimeSpan? timeout = null, CancellationToken ct = default) =>
        bus.InvokeAsync<CommandOutcome>(command, Options(token, correlationId), ct, timeout ?? TimeSpan.FromSeconds(30));
}
