using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using MassTransit;

namespace EventMlOps.Client;

/// <summary>Sends EventMlOps commands from a MassTransit 8 service (RabbitMQ) and awaits the control plane's answer.</summary>
/// <example><code>
/// var outcome = await bus.RequestAsync(new RequestTraining(...), token);
/// if (outcome.State == "refused") Console.WriteLine($"{outcome.Status}: {outcome.Reason}");
/// </code></example>
public static class MassTransitPublisher
{
    /// <summary>The exchange feeding the control plane's command queue (a MassTransit send address).</summary>
    public static readonly Uri ControlPlane = new($"exchange:{BusHeaders.ControlPlaneExchange}");

    /// <summary>Sends <paramref name="command"/> with the sender's token and waits for its answer: <c>accepted</c> (the stream
    /// and version it wrote), <c>duplicate</c> (this command id was handled before: the first answer) or <c>refused</c> (the
    /// HTTP status and reason). <paramref name="correlationId"/> ends up on every event the command causes.</summary>
    public static async Task<CommandOutcome> RequestAsync<T>(this IBus bus, T command, string token, Guid? correlationId = null,
        TimeSpan? timeout = null, CancellationToken ct = default) where T : class, ICommand
    {
        var client = bus.CreateRequestClient<T>(ControlPlane, RequestTimeout.After(s: (int)(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds));
        var response = await client.GetResponse<CommandOutcome>(command, x => x.UseExecute(c => Stamp(c, token, correlationId)), ct);
        return response.Message;
    }

    /// <summary>Sends <paramref name="command"/> without awaiting an answer (its outcome: <c>GET /api/commands/{commandId}</c>).</summary>
    public static async Task SendAsync<T>(this ISendEndpointProvider endpoints, T command, string token, Guid? correlationId = null,
        CancellationToken ct = default) where T : class, ICommand
    {
        var endpoint = await endpoints.GetSendEndpoint(ControlPlane);
        await endpoint.Send(command, c => Stamp(c, token, correlationId), ct);
    }

    /// <summary>The headers the control plane reads: the token (the actor of the events) and the contract type, which
    /// MassTransit otherwise names only inside its envelope.</summary>
    public static void Stamp<T>(SendContext<T> context, string token, Guid? correlationId) where T : class
    {
        context.Headers.Set(BusHeaders.Token, token);
        context.Headers.Set(BusHeaders.MessageType, typeof(T).FullName);
        if (correlationId is { } id) context.CorrelationId = id;
    }
}
