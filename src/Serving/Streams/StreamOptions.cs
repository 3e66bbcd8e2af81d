using System.Security.Cryptography;
using System.Text;

namespace EventMlOps.Serving.Streams;

/// <summary>The <c>Serving:Stream</c> section: the replica also scores its endpoint's sensor readings from the bus
/// (<c>--stream</c>). The transport is the platform's (<see cref="BusSettings"/>: PostgreSQL queues by default,
/// <c>Bus:RabbitMq</c>, <c>EMO_KAFKA</c>).</summary>
public sealed class StreamOptions
{
    public bool Enabled { get; set; }

    /// <summary>PostgreSQL for the scorer's durable state and inbox (a secret: never logged); for the PostgreSQL transport
    /// also where the queue lives.</summary>
    public string? Database { get; set; }

    /// <summary>The scorer's own schema (windows, batches seen, facts to send; Wolverine's inbox). Default:
    /// <c>emo_stream_{endpoint}</c>, so a restarted scorer resumes where it stopped.</summary>
    public string? Schema { get; set; }

    /// <summary>The PostgreSQL transport's queue schema: the control plane's (<c>{Marten:Schema}_queues</c>).</summary>
    public string QueueSchema { get; set; } = "emo_queues";

    /// <summary>How far behind its machine's newest reading a reading may arrive and still be placed in its window.</summary>
    public TimeSpan AllowedLateness { get; set; } = TimeSpan.Zero;

    /// <summary>Normal windows in a row that end an anomaly episode.</summary>
    public int ClearAfter { get; set; } = Models.AlarmRule.DefaultClearAfter;

    /// <summary>Anomalous windows in a row that raise an episode: with windows a reading apart, one window over the threshold
    /// is mostly the model's false-positive rate, a fault lasts.</summary>
    public int RaiseAfter { get; set; } = Models.AlarmRule.DefaultRaiseAfter;

    /// <summary>Readings further in the future than this (by the scorer's clock) are refused: they would close every window.</summary>
    public TimeSpan MaxFuture { get; set; } = TimeSpan.FromHours(1);

    /// <summary><see cref="Schema"/>, or one per endpoint: <c>emo_stream_{endpoint}</c> for a name of at most 40 letters and
    /// digits; any other has its other characters made '_', its first 39 kept and a hash of the whole name added (so it holds
    /// a '_' no plain name's schema has): <c>a.b</c>, <c>a-b</c> and <c>a_b</c> (or two long names alike at first) never share a schema.</summary>
    public string SchemaFor(string endpoint)
    {
        if (Schema is { Length: > 0 } schema) return schema;
        static bool Plain(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
        if (endpoint.Length <= 40 && endpoint.All(Plain)) return $"emo_stream_{endpoint}";
        var label = new string([.. endpoint.Select(c => Plain(c) ? c : '_')]);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(endpoint)))[..12];
        return $"emo_stream_{label[..Math.Min(label.Length, 39)]}_{hash}";
    }
}
