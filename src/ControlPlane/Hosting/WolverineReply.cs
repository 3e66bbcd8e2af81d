using System.Text;
using EventMlOps.Contracts.Views;
using Wolverine;
using Wolverine.RabbitMQ.Internal;
using Wolverine.Util;

namespace EventMlOps.ControlPlane.Hosting;

/// <summary>Where a Wolverine publisher awaits the answer to a command it invoked (<c>InvokeAsync&lt;CommandOutcome&gt;</c>):
/// the RabbitMQ response queue Wolverine made for its node.</summary>
public static class WolverineReply
{
    private const string ResponseQueuePrefix = "wolverine.response.";
    private static readonly string AnswerType = typeof(CommandOutcome).ToMessageTypeName();

    public static bool Awaited(Envelope envelope) => envelope.ReplyRequested == AnswerType && IsResponseQueue(envelope.ReplyUri);

    /// <summary>The listener's mapping: a reply address naming any other queue (the agents' work orders, another service's
    /// inbox) is dropped, so neither our answers nor Wolverine's own acknowledgements are sent there on a sender's say.</summary>
    public static void MapReplyUri(RabbitMqEnvelopeMapper mapper) =>
        mapper.MapIncomingProperty(e => e.ReplyUri!, (e, props) =>
            e.ReplyUri = props.Headers?.TryGetValue(EnvelopeConstants.ReplyUriKey, out var header) == true && header is byte[] bytes
                && Uri.TryCreate(Encoding.UTF8.GetString(bytes), UriKind.Absolute, out var uri) && IsResponseQueue(uri) ? uri : null);

    private static bool IsResponseQueue(Uri? uri) => uri is { Scheme: "rabbitmq", Host: "queue" }
        && uri.Segments is [_, var queue] && queue.StartsWith(ResponseQueuePrefix, StringComparison.Ordinal) && queue.Length <= 255;
}
