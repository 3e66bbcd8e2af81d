using System.Text.Json;
using EventMlOps.ControlPlane.History;
using Marten;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>The one place where exceptions become HTTP ProblemDetails: 400 malformed input (with the
/// field), 401/403, 404 unknown ids, 409 concurrency conflicts and operations already under way, 422 refusals by an invariant.</summary>
public sealed class ProblemMapping(IProblemDetailsService problems, IDocumentStore store, ILogger<ProblemMapping> log) : IExceptionHandler
{
    /// <summary>An optimistic-concurrency violation: a stream changed since it was read (JasperFx's
    /// <see cref="JasperFx.ConcurrencyException"/>, the base of the unexpected-version one), or two writers started the same
    /// stream (raised by JasperFx or Marten, each with a type of its own).</summary>
    public static bool IsConflict(Exception e) =>
        e is JasperFx.ConcurrencyException or JasperFx.Events.ExistingStreamIdCollisionException or Marten.Exceptions.ExistingStreamIdCollisionException;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        var problem = Describe(exception);
        if (problem is null)
        {
            log.LogError(exception, "Unhandled error on {Path}", http.Request.Path);
            return false;
        }
        if (problem.Status == 503)
            http.Response.Headers.RetryAfter = "5";
        else
            log.LogInformation("Refused {Method} {Path}: {Status} {Title}", http.Request.Method, http.Request.Path, problem.Status, problem.Title);
        if (problem.Status == 409 && Chain(exception).OfType<JasperFx.ConcurrencyException>().FirstOrDefault()?.Id is string stream)
        {
            // The caller reloads from here: tell it where the stream stands now.
            await using var session = store.QuerySession();
            problem.Extensions["stream"] = stream;
            problem.Extensions["currentVersion"] = (await session.Events.FetchStreamStateAsync(stream, ct))?.Version ?? 0;
        }
        http.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    public static ProblemDetails? Describe(Exception exception)
    {
        foreach (var ex in Chain(exception))
        {
            switch (ex)
            {
                case InvalidField f:
                    return Problem(400, "Invalid input", $"{f.Field}: {f.Reason}", ("field", f.Field));
                case BadHttpRequestException { InnerException: JsonException json }:
                    return Problem(400, "Malformed JSON", json.Message, ("field", json.Path ?? "$"));
                case BadHttpRequestException bad:
                    return Problem(bad.StatusCode, "Bad request", bad.Message);
                case JsonException json:
                    return Problem(400, "Malformed JSON", json.Message, ("field", json.Path ?? "$"));
                case Unauthenticated u:
                    return Problem(401, "Unauthenticated", u.Message);
                case Forbidden f:
                    return Problem(403, "Forbidden", f.Message);
                case NotFound n:
                    return Problem(404, $"Unknown {n.What}", n.Message, ("id", n.Id));
                case Refused r:
                    return Problem(422, "Refused", r.Message);
                case HistoryRefused h:
                    var title = h.Status switch { 409 => "Conflict", 413 => "Too large", 415 => "Unsupported media type", _ => "History refused" };
                    return h.Line is { } line ? Problem(h.Status, title, h.Message, ("line", line)) : Problem(h.Status, title, h.Message);
                case Busy b:
                    return Problem(409, "Conflict", b.Message);
                case AlreadyExists a:
                    return Problem(409, "Already exists", a.Message);
                case Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation }:
                    return Problem(409, "Already exists", "a unique name was taken by a concurrent write; reload and retry");
                case var c when IsConflict(c):
                    return Problem(409, "Concurrency conflict", "the stream changed since it was read; reload and retry");
                case Unavailable u:
                    return Problem(503, "Unavailable", u.Message);
                case Npgsql.NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException or TimeoutException:
                    return Problem(503, "Unavailable", "the event store's database does not answer; retry shortly");
            }
        }
        return null;
    }

    /// <summary>An exception that is the caller's mistake or a refusal by a rule: answered, never logged as an error.</summary>
    public static bool IsExpected(Exception e) => Describe(e) is { Status: < 500 };

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            yield return x;
            if (x is AggregateException agg)
                foreach (var inner in agg.InnerExceptions.SelectMany(Chain))
                    yield return inner;
        }
    }

    private static ProblemDetails Problem(int status, string title, string detail, params (string Key, object Value)[] extensions)
    {
        var p = new ProblemDetails { Status = status, Title = title, Detail = detail };
        foreach (var (key, value) in extensions)
            p.Extensions[key] = value;
        return p;
    }
}
