using System.Globalization;
using JasperFx.Events;
using Marten;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>A point in history: a timestamp, or a global event sequence number.</summary>
public sealed record AsOf(DateTimeOffset? Time, long? Sequence)
{
    public override string ToString() => Sequence is { } s ? $"seq {s}" : Time!.Value.ToString("O");

    /// <summary>Parses "2026-11-28T14:03:00Z" (any ISO 8601 time) or a plain integer (a sequence).</summary>
    public static AsOf? Parse(string? text, string field = "asOf")
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            return new AsOf(null, seq);
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            return new AsOf(time, null);
        throw new InvalidField(field, $"{Guard.Shown(text)} is neither an ISO 8601 time nor an event sequence number");
    }
}

public static class TimeTravel
{
    /// <summary>Loads a stream's state now (its inline snapshot) or as of a point in history,
    /// by Marten's live aggregation of the stream up to that time or version.</summary>
    public static async Task<T?> StateAsync<T>(this IQuerySession session, string stream, AsOf? asOf, CancellationToken ct = default) where T : class
    {
        if (asOf is null)
            // A view added after the stream was written has no snapshot yet: it is aggregated live until one is written.
            return await session.LoadAsync<T>(stream, ct) ?? await session.Events.AggregateStreamAsync<T>(stream, token: ct);
        if (asOf.Time is { } time)
            return await session.Events.AggregateStreamAsync<T>(stream, timestamp: time, token: ct);
        var last = await session.Events.QueryAllRawEvents()
            .Where(e => e.StreamKey == stream && e.Sequence <= asOf.Sequence!.Value)
            // By version, not sequence: the same order within a stream, but it lets PostgreSQL use the (stream, version)
            // key instead of walking the global sequence index backwards (0.2 ms instead of ~1 s on long streams at 1M events).
            .OrderByDescending(e => e.Version).FirstOrDefaultAsync(ct);
        return last is null ? null : await session.Events.AggregateStreamAsync<T>(stream, version: last.Version, token: ct);
    }

    /// <summary>The events up to a point in history (all of them when <paramref name="asOf"/> is null).</summary>
    public static IQueryable<IEvent> UpTo(this IQueryable<IEvent> events, AsOf? asOf)
    {
        if (asOf?.Time is { } time) events = events.Where(e => e.Timestamp <= time);
        if (asOf?.Sequence is { } sequence) events = events.Where(e => e.Sequence <= sequence);
        return events;
    }
}
