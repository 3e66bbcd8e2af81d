using System.Text.Json;
using EventMlOps.ControlPlane.Audit;
using Marten;

namespace EventMlOps.ControlPlane.Dashboard;

/// <summary><c>GET /live?after={sequence}</c>: the events appended after a sequence, as server-sent events (<c>id</c> = the
/// event's sequence, so a reconnecting browser resumes with <c>Last-Event-ID</c>), read from the event table through the
/// audit trail — the store every control-plane replica shares, so any replica can serve any dashboard. Only what the
/// audit trail shows a viewer is sent (sequence, type, stream, actor), not the events' data; the page asks again for what
/// it shows.</summary>
public static class LiveEvents
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(300), KeepAlive = TimeSpan.FromSeconds(15);

    public static async Task StreamAsync(HttpContext http, long? after, IDocumentStore store, IHostApplicationLifetime lifetime)
    {
        if (after is < 0) throw new Commanding.InvalidField("after", "must be an event sequence ≥ 0");
        var last = long.TryParse(http.Request.Headers["Last-Event-ID"], out var resumed) && resumed >= 0 ? resumed : after ?? await LatestAsync(store, http.RequestAborted);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["X-Accel-Buffering"] = "no"; // a proxy in front must not hold the stream back
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var ct = stop.Token;
        await http.Response.WriteAsync("retry: 2000\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
        var quietSince = DateTime.UtcNow;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var entries = await AuditTrail.QueryAsync(store, new AuditFilter(AfterSequence: last, Limit: 500), ct);
                foreach (var e in entries)
                {
                    var data = JsonSerializer.Serialize(new { sequence = e.Sequence, type = e.Type, stream = e.Stream, actor = e.Actor });
                    await http.Response.WriteAsync($"id: {e.Sequence}\nevent: append\ndata: {data}\n\n", ct);
                    last = e.Sequence;
                }
                if (entries.Count > 0 || DateTime.UtcNow - quietSince > KeepAlive)
                {
                    if (entries.Count == 0) await http.Response.WriteAsync(": keep-alive\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    quietSince = DateTime.UtcNow;
                }
                if (entries.Count < 500) await Task.Delay(Poll, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The browser went away or the host is stopping: the stream simply ends (the browser reconnects elsewhere).
        }
    }

    /// <summary>The last event's sequence (0 in an empty store): where a page's live updates start.</summary>
    public static async Task<long> LatestAsync(IDocumentStore store, CancellationToken ct) =>
        (await AuditTrail.QueryAsync(store, new AuditFilter(Limit: 1), ct)) is [var newest] ? newest.Sequence : 0;
}
