using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Audit;

public static class AuditApi
{
    public static void MapAudit(this IEndpointRouteBuilder api)
    {
        api.MapGet("/audit", (string? actor, string? stream, string? type, string? since, string? until, string? correlation, int? limit,
                IDocumentStore store, CancellationToken ct) =>
            AuditTrail.QueryAsync(store, Filter(actor, stream, type, since, until, correlation, limit), ct)).WithName("SearchAudit");
        // Tailing: events after a global sequence, oldest first (the CLI's `events tail` polls this).
        api.MapGet("/events", (long? after, int? limit, IDocumentStore store, CancellationToken ct) =>
            AuditTrail.QueryAsync(store, new AuditFilter(AfterSequence: after ?? 0, Limit: Paging.Limit(limit)), ct)).WithName("ListEvents");
    }

    /// <summary>The audit filter of a query string (the dashboard's audit page asks the same).</summary>
    public static AuditFilter Filter(string? actor, string? stream, string? type, string? since, string? until, string? correlation, int? limit) =>
        new(Blank(actor), Stream(Blank(stream)), Time(since, "since"), Time(until, "until"), Blank(correlation), null, Paging.Limit(limit), Blank(type));

    /// <summary>A stream keyed by an id (<see cref="StreamKeys.Run"/>, <see cref="StreamKeys.Dataset"/>, <see cref="StreamKeys.Retraining"/>)
    /// named with the id in any printed form (<c>run:3f2b9c1e-…</c> as the CLI prints run ids) is the same stream. Names are
    /// left alone: an endpoint may be called like a GUID.</summary>
    private static string? Stream(string? stream) =>
        stream?.IndexOf(':') is > 0 and var colon && stream[..colon] is "run" or "dataset" or "retraining" && Guid.TryParse(stream[(colon + 1)..], out var id)
            ? $"{stream[..colon]}:{id:N}"
            : stream;

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static DateTimeOffset? Time(string? text, string field) => AsOf.Parse(text, field) switch
    {
        null => null,
        { Time: { } t } => t,
        _ => throw new InvalidField(field, "must be an ISO 8601 time"),
    };
}
