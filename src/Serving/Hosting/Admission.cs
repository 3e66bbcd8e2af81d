using System.Diagnostics;
using System.Text.Json;
using EventMlOps.Models;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Loading;
using EventMlOps.Serving.Observability;
using EventMlOps.Serving.Routing;

namespace EventMlOps.Serving.Hosting;

/// <summary>Marks a model route. <paramref name="Oip"/>: errors in the Open Inference Protocol's <c>{"error": …}</c>
/// form, else ProblemDetails. <paramref name="Admit"/>: readiness and the concurrency bound apply (inference, not
/// metadata).</summary>
public sealed record ModelRoute(string Name, bool Oip, bool Admit = true);

/// <summary>A request refused with a status and a reason the caller can act on.</summary>
public sealed class Refusal(int status, string reason) : Exception(reason)
{
    public int Status { get; } = status;

    public static Refusal BadInput(string reason) => new(StatusCodes.Status400BadRequest, reason);
    public static Refusal Unavailable(string reason) => new(StatusCodes.Status503ServiceUnavailable, reason);

    /// <summary>A caller's value as a refusal may quote it: short and printable, else only its length.</summary>
    public static string Shown(string value) =>
        value.Length <= 40 && !value.Any(char.IsControl) ? $"'{value}'" : $"a value of {value.Length} characters";

    /// <summary>An exception's message as a refusal or a report may carry it: one line of at most 200 characters, since
    /// it may quote what it failed on (a malformed value from a file, say).</summary>
    public static string Brief(string message)
    {
        var line = string.Concat(message.Select(c => char.IsControl(c) ? ' ' : c));
        return line.Length <= 200 ? line : line[..200] + "…";
    }
}

/// <summary>The version serving the current request, for its metrics.</summary>
public sealed class ServedBy
{
    public ServedModel? Model { get; set; }

    /// <summary>The route label the request is counted under when not its route's own: a <c>/score</c> pinned to a version
    /// (offline evaluation) is <c>score-pinned</c>, which canary analysis does not read.</summary>
    public string? CountedAs { get; set; }
}

/// <summary>Whether this process takes inference traffic: something is loaded and it is not shutting down.</summary>
public sealed class Readiness(Router router, IHostApplicationLifetime lifetime)
{
    public bool IsReady => !lifetime.ApplicationStopping.IsCancellationRequested && router.Current.Routes.Count > 0;
}

public static class ModelRoutes
{
    public const string VersionHeader = "X-Model-Version";

    /// <summary>Holds a version chosen on the current routing table for this request and says so in the
    /// <see cref="VersionHeader"/> header (and to the metrics); 503 when none can serve.</summary>
    public static Lease Serve(this HttpContext http, Router router, Func<RoutingTable, ServedModel?> choose, string noneServes)
    {
        var lease = router.Acquire(choose) ?? throw Refusal.Unavailable(noneServes);
        http.Features.Get<ServedBy>()!.Model = lease.Model;
        http.Response.Headers[VersionHeader] = lease.Model.Label;
        return lease;
    }

    /// <summary><see cref="Serve"/> for an inference request: the chosen version's injected faults apply to it (its
    /// extra latency, then a 500 with its error rate). Without faults it completes at once, without an allocation.</summary>
    public static ValueTask<Lease> ServeInferenceAsync(this HttpContext http, Router router, Func<RoutingTable, ServedModel?> choose, string noneServes)
    {
        var lease = http.Serve(router, choose, noneServes);
        return lease.Model.Faults is { } faults ? InjectAsync(lease, faults, http.RequestAborted) : new ValueTask<Lease>(lease);
    }

    private static async ValueTask<Lease> InjectAsync(Lease lease, InjectedFaults faults, CancellationToken ct)
    {
        try
        {
            // Timers may fire a little early: the injected latency is at least what the version declares.
            for (var started = System.Diagnostics.Stopwatch.GetTimestamp(); System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds < faults.LatencyMs;)
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(1, faults.LatencyMs - System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds)), ct);
            if (faults.ErrorRate > 0 && Random.Shared.NextDouble() < faults.ErrorRate)
                throw new Refusal(StatusCodes.Status500InternalServerError, faults.ErrorReason);
            return lease;
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }
}

/// <summary>The front door of model routes: answers at once with 503 (not ready, draining) or 429 (too many requests in
/// flight, a full batch queue) and a <c>Retry-After</c> rather than letting latency grow; turns refusals into 4xx with
/// their reason; records latency (with the serving version and the status class, 5xx included), in-flight requests and
/// errors. A 500 is logged as an error unless it is a <see cref="Refusal"/> (an injected fault).</summary>
public sealed class Admission(RequestDelegate next, ServingOptions options, Readiness readiness, ServingMetrics metrics, ILogger<Admission> log)
{
    private int _inFlight;

    public async Task InvokeAsync(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<ModelRoute>() is not { } route)
        {
            await next(http);
            return;
        }
        var start = Stopwatch.GetTimestamp();
        var served = new ServedBy();
        http.Features.Set(served);
        var admitted = false;
        try
        {
            if (route.Admit)
            {
                if (!readiness.IsReady) throw Refusal.Unavailable("not ready: no model version is loaded yet, or the server is shutting down");
                admitted = Interlocked.Increment(ref _inFlight) <= options.MaxConcurrency;
                if (!admitted)
                {
                    Interlocked.Decrement(ref _inFlight);
                    throw new Refusal(StatusCodes.Status429TooManyRequests, $"overloaded: {options.MaxConcurrency} requests are in flight");
                }
                metrics.InFlight(1);
            }
            await next(http);
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            var (status, reason) = e switch
            {
                Refusal r => (r.Status, r.Message),
                QueueFullException => (StatusCodes.Status429TooManyRequests, $"overloaded: {e.Message}"),
                JsonException => (StatusCodes.Status400BadRequest, $"the body is not valid JSON: {e.Message}"),
                BadHttpRequestException b => (b.StatusCode, b.Message),
                _ => (StatusCodes.Status500InternalServerError, "internal error: see the server's log"),
            };
            if (status == StatusCodes.Status500InternalServerError && e is not Refusal && !http.RequestAborted.IsCancellationRequested)
                log.LogError(e, "{Route} failed on {Model}", route.Name, served.Model?.Label);
            await Reply(http, route, status, reason);
        }
        finally
        {
            if (admitted)
            {
                Interlocked.Decrement(ref _inFlight);
                metrics.InFlight(-1);
            }
            metrics.Request(served.CountedAs ?? route.Name, served.Model, http.Response.StatusCode, Stopwatch.GetElapsedTime(start));
            if (http.Response.StatusCode >= 400) metrics.Error(Kind(http.Response.StatusCode), served.CountedAs ?? route.Name);
        }
    }

    private static Task Reply(HttpContext http, ModelRoute route, int status, string reason)
    {
        if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
            http.Response.Headers.RetryAfter = "1";
        var result = route.Oip
            ? Results.Json(new { error = reason }, statusCode: status)
            : Results.Problem(reason, statusCode: status);
        return result.ExecuteAsync(http);
    }

    private static string Kind(int status) => status switch
    {
        400 => "bad_input",
        413 => "too_large",
        429 => "overloaded",
        503 => "unavailable",
        < 500 => "client_error",
        _ => "internal",
    };
}
