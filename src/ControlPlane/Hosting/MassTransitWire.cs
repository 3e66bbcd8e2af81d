using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Commanding;
using Wolverine;
using Wolverine.RabbitMQ.Internal;
using Wolverine.Runtime.Serialization;
using Wolverine.Util;

namespace EventMlOps.ControlPlane.Hosting;

/// <summary>MassTransit 8's JSON envelope (<c>application/vnd.masstransit+json</c>) on the command queue, beside Wolverine's
/// own messages. Wolverine's built-in interop is not used: it drops MassTransit's <c>requestId</c>, without which a
/// MassTransit request client never sees its answer, and it reads the message type from a header that Wolverine publishers
/// on the same queue do not set.</summary>
public sealed class MassTransitWire(Action<JsonSerializerOptions> configure) : IMessageSerializer
{
    public const string MassTransitContentType = "application/vnd.masstransit+json";

    /// <summary>Where and under which request a MassTransit sender awaits its answer (internal envelope headers, set here only).</summary>
    public const string ResponseAddressHeader = "emo-mt-response-address";
    public const string RequestIdHeader = "emo-mt-request-id";

    private readonly JsonSerializerOptions _json = Options(configure);

    public string ContentType => MassTransitContentType;

    /// <summary>The listener's mapping: a Wolverine publisher's type travels in the AMQP <c>type</c> property, a MassTransit
    /// publisher's in <see cref="BusHeaders.MessageType"/>. Only contract commands are taken from outside: any other type this
    /// host handles (its own local messages, subscribed events) is no message for a publisher to send.</summary>
    public static void MapMessageType(RabbitMqEnvelopeMapper mapper) =>
        mapper.MapIncomingProperty(e => e.MessageType!, (e, props) =>
        {
            var named = props.Type is { Length: > 0 } type ? type
                : props.Headers?.TryGetValue(BusHeaders.MessageType, out var header) == true && header is byte[] bytes ? Encoding.UTF8.GetString(bytes) : null;
            e.MessageType = named is not null && Commands.Contains(named) ? named : null;
        });

    private static readonly HashSet<string> Commands = [.. typeof(ICommand).Assembly.GetExportedTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICommand).IsAssignableFrom(t)).Select(t => t.ToMessageTypeName())];

    public object ReadFromData(Type messageType, Envelope envelope)
    {
        var root = JsonNode.Parse(envelope.Data) as JsonObject ?? throw new InvalidField("$", "a MassTransit envelope must be a JSON object");
        var message = root["message"] ?? throw new InvalidField("message", "the MassTransit envelope carries no message");
        string? Text(string name) => root[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length is > 0 and <= 512 ? s : null;

        if (Guid.TryParse(Text("messageId"), out var id)) envelope.Id = id;
        envelope.CorrelationId = Text("correlationId") ?? Text("conversationId") ?? envelope.CorrelationId;
        if (Guid.TryParse(Text("conversationId"), out var conversation)) envelope.ConversationId = conversation;
        if (root["headers"] is JsonObject headers)
            foreach (var (name, value) in headers)
                envelope.Headers[name] = value is JsonValue s && s.TryGetValue<string>(out var text) ? text : value?.ToJsonString();
        envelope.Headers.Remove(ResponseAddressHeader);
        envelope.Headers.Remove(RequestIdHeader);
        if (Text("responseAddress") is { } responseAddress && Guid.TryParse(Text("requestId"), out var requestId))
        {
            envelope.Headers[ResponseAddressHeader] = responseAddress;
            envelope.Headers[RequestIdHeader] = requestId.ToString();
        }
        return message.Deserialize(messageType, _json) ?? throw new InvalidField("message", "is null");
    }

    public byte[] Write(Envelope envelope) => throw new NotSupportedException("the control plane sends MassTransit nothing but answers (BusAnswers)");

    public object ReadFromData(byte[] data) => throw new NotSupportedException("a MassTransit envelope is read with its message type");

    public byte[] WriteMessage(object message) => throw new NotSupportedException("the control plane sends MassTransit nothing but answers (BusAnswers)");

    /// <summary>A response address names a MassTransit bus queue of the sender's (<c>…_bus_…</c>, where a request client
    /// awaits its answers): the queue's name, or null for anything else — one of ours, another service's queue.</summary>
    public static string? ResponseQueue(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Segments.LastOrDefault()?.Trim('/') is { Length: > 0 and <= 255 } queue
        && queue.Contains("_bus_", StringComparison.Ordinal) && !queue.StartsWith("emo-", StringComparison.Ordinal)
        && !queue.StartsWith("wolverine", StringComparison.Ordinal)
            ? queue
            : null;

    /// <summary>An answer in MassTransit's envelope, addressed to the request it answers.</summary>
    public byte[] Answer(object answer, AnswerTo to) =>
        JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["messageId"] = Guid.NewGuid().ToString(),
            ["requestId"] = to.RequestId.ToString(),
            ["correlationId"] = Guid.TryParse(to.CorrelationId, out var c) ? c.ToString() : null,
            ["conversationId"] = to.ConversationId.ToString(),
            ["destinationAddress"] = to.Address,
            ["messageType"] = new JsonArray($"urn:message:{answer.GetType().Namespace}:{answer.GetType().Name}"),
            ["message"] = JsonSerializer.SerializeToNode(answer, answer.GetType(), _json),
            ["sentTime"] = DateTime.UtcNow.ToString("O"),
            ["headers"] = new JsonObject(),
        });

    private static JsonSerializerOptions Options(Action<JsonSerializerOptions> configure)
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        configure(o);
        return o;
    }
}
