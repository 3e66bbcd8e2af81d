using System.Text;
using System.Text.Json;
using EventMlOps.Contracts.Views;
using EventMlOps.Hosting;
using RabbitMQ.Client;
using Wolverine;
using Wolverine.RabbitMQ.Internal;
using Wolverine.Util;

namespace EventMlOps.ControlPlane.Hosting;

/// <summary>Answers to Wolverine publishers that invoke a command and await its <see cref="CommandOutcome"/>
/// (<c>InvokeAsync&lt;CommandOutcome&gt;</c>, EventMlOps.Client's <c>RequestCommandAsync</c>), in the response queue
/// Wolverine made for the sender's node. Wolverine's own replies are not used: they would make the control plane keep a
/// sending endpoint per reply address a sender names, and send its acknowledgements wherever a sender points.</summary>
public static class WolverineReply
{
    /// <summary>The checked response queue of the sender (an internal header, set by the listener's mapping only).</summary>
    public const string QueueHeader = "emo-wolverine-response-queue";

    private const string ResponseQueuePrefix = "wolverine.response.";
    private static readonly string AnswerType = typeof(CommandOutcome).ToMessageTypeName();
    private static readonly JsonSerializerOptions Json = Options();

    /// <summary>The listener's mapping: the sender's reply address never reaches Wolverine (which would send its replies and
    /// acknowledgements there); when it is a Wolverine response queue (<c>wolverine.response.&lt;guid&gt;</c>) and the
    /// sender awaits a <see cref="CommandOutcome"/>, its queue is kept in <see cref="QueueHeader"/> for the answer.</summary>
    public static void MoveReplyAddress(RabbitMqEnvelopeMapper mapper) =>
        mapper.MapIncomingProperty(e => e.ReplyUri!, (e, props) =>
        {
            e.ReplyUri = null;
            e.Headers.Remove(QueueHeader);
            if (ResponseQueue(Header(props, EnvelopeConstants.ReplyUriKey), Header(props, EnvelopeConstants.ReplyRequestedKey)) is { } queue)
                e.Headers[QueueHeader] = queue;
        });

    /// <summary>The response queue a sender's reply address names, when it is a Wolverine node's
    /// (<c>rabbitmq://queue/wolverine.response.&lt;guid&gt;</c>) and the sender awaits a <see cref="CommandOutcome"/>; else null.</summary>
    public static string? ResponseQueue(string? replyUri, string? replyRequested) =>
        replyRequested == AnswerType && Uri.TryCreate(replyUri, UriKind.Absolute, out var uri) && uri is { Scheme: "rabbitmq", Host: "queue" }
        && uri.Segments is [_, var queue] && queue.StartsWith(ResponseQueuePrefix, StringComparison.Ordinal)
        && Guid.TryParseExact(queue[ResponseQueuePrefix.Length..], "D", out _)
            ? queue
            : null;

    /// <summary>The answer as Wolverine sends a response: the message type in the AMQP <c>type</c>, marked as a response
    /// to the envelope that carried the command (its id as the conversation).</summary>
    public static (BasicProperties Properties, byte[] Body) Answer(CommandOutcome answer, AnswerTo to) => (new BasicProperties
    {
        MessageId = Guid.NewGuid().ToString(), Type = AnswerType, ContentType = "application/json", CorrelationId = to.CorrelationId, Persistent = true,
        Headers = new Dictionary<string, object?>
        {
            [EnvelopeConstants.ConversationIdKey] = to.RequestId.ToString(),
            [EnvelopeConstants.IsResponseKey] = "true",
        },
    }, JsonSerializer.SerializeToUtf8Bytes(answer, Json));

    private static string? Header(IReadOnlyBasicProperties props, string key) =>
        props.Headers?.TryGetValue(key, out var value) == true && value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : null;

    private static JsonSerializerOptions Options()
    {
        var options = new JsonSerializerOptions();
        WireJson.Configure(options);
        return options;
    }
}
