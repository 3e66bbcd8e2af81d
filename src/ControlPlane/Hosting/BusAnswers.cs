using EventMlOps.Contracts.Views;
using RabbitMQ.Client;
using Wolverine;

namespace EventMlOps.ControlPlane.Hosting;

public enum AnswerWire
{
    MassTransit,
    Wolverine,
}

/// <summary>Where a publisher awaits the answer to the command it sent: <paramref name="Queue"/>, a MassTransit request
/// client's bus queue (<paramref name="Address"/> its full address) or a Wolverine node's response queue; the answer refers
/// to <paramref name="RequestId"/> (MassTransit's request id, or the id of the Wolverine envelope that carried the command).</summary>
public sealed record AnswerTo(AnswerWire Wire, string Queue, string Address, Guid RequestId, string? CorrelationId, Guid ConversationId)
{
    /// <summary>Only what the RabbitMQ listener's own mapping set counts (<see cref="MassTransitWire.ReadFromData(Type, Envelope)"/>
    /// from a MassTransit envelope's <c>responseAddress</c>, <see cref="WolverineReply.MoveReplyAddress"/> from a Wolverine
    /// sender's reply address, each checked there and wiping what a sender set itself): no sender names another queue.</summary>
    public static AnswerTo? From(Envelope envelope)
    {
        if (envelope.Destination?.Scheme != "rabbitmq") return null;
        if (envelope.ContentType == MassTransitWire.MassTransitContentType)
            return envelope.Headers.GetValueOrDefault(MassTransitWire.ResponseAddressHeader) is { } address
                && MassTransitWire.ResponseQueue(address) is { } queue
                && Guid.TryParse(envelope.Headers.GetValueOrDefault(MassTransitWire.RequestIdHeader), out var requestId)
                    ? new AnswerTo(AnswerWire.MassTransit, queue, address, requestId, envelope.CorrelationId, envelope.ConversationId)
                    : null;
        return envelope.Headers.GetValueOrDefault(WolverineReply.QueueHeader) is { } responseQueue
            ? new AnswerTo(AnswerWire.Wolverine, responseQueue, $"rabbitmq://queue/{responseQueue}", envelope.Id, envelope.CorrelationId, envelope.ConversationId)
            : null;
    }
}

/// <summary>Sends answers to publishers: straight to the sender's own queue through the default exchange (never declaring
/// it: it is the sender's), in the sender's own envelope (MassTransit's or Wolverine's), on one channel of its own — so no
/// reply address, however many a sender invents, makes the control plane keep an endpoint or a sender for it.</summary>
public sealed class BusAnswers(string address, MassTransitWire massTransit, ILogger<BusAnswers> log) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    public async Task SendAsync(AnswerTo to, CommandOutcome answer)
    {
        var (properties, body) = to.Wire == AnswerWire.MassTransit
            ? (new BasicProperties { ContentType = MassTransitWire.MassTransitContentType, MessageId = Guid.NewGuid().ToString(), Persistent = true },
                massTransit.Answer(answer, to))
            : WolverineReply.Answer(answer, to);
        await _gate.WaitAsync();
        try
        {
            if (_channel is not { IsOpen: true })
            {
                _connection ??= await new ConnectionFactory { Uri = new Uri(address), ClientProvidedName = "emo-controlplane answers" }.CreateConnectionAsync();
                _channel = await _connection.CreateChannelAsync();
            }
            await _channel.BasicPublishAsync("", to.Queue, false, properties, body);
        }
        catch (Exception e)
        {
            log.LogWarning("Answering {Wire} request {RequestId} failed: {Reason}", to.Wire, to.RequestId, e.Message);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is not null) await _channel.DisposeAsync();
        if (_connection is not null) await _connection.DisposeAsync();
    }
}
