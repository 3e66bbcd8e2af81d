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
    public int ClearAfter { get; set; } = 3;

    /// <summary>Readings further in the future than this (by the scorer's clock) are refused: they would close every window.</summary>
    public TimeSpan MaxFuture { get; set; } = TimeSpan.FromHours(1);

    public string SchemaFor(string endpoint) => Schema is { Length: > 0 } schema ? schema
        : "emo_stream_" + new string([.. endpoint.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')])[..Math.Min(endpoint.Length, 40)];
}
