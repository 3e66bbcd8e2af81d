using EventMlOps.Contracts;
using Wolverine;

namespace EventMlOps.Client;

/// <summary>Sends EventMlOps commands from a Wolverine service (any transport the control plane listens on: the route to
/// <see cref="BusHeaders.ControlPlaneQueue"/> is the sender's own configuration). The outcome is read afterwards from
/// <c>GET /api/commands/{commandId}</c>; answers on the bus go to MassTransit request clients (<see cref="MassTransitPublisher"/>).</summary>
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

    public static ValueTask SendCommandAsync(this IMessageBus bus, ICommand command, string token, string? correlationId = null) =>
        bus.SendAsync(command, Options(token, correlationId));
}
