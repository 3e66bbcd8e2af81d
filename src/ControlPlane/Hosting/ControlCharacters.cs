using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.Hosting;

/// <summary>Refuses control characters in the path and query string of every request with a 400 before anything reads
/// them (a NUL reaching PostgreSQL fails the statement). Bodies are checked per command by <see cref="Inputs"/>.</summary>
public sealed class ControlCharacters(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext http)
    {
        if (Inputs.HasControl(http.Request.Path.Value ?? "") || http.Request.Path.Value?.Any(c => c is '\t' or '\n' or '\r') == true
            || http.Request.Query.Any(q => Inputs.HasControl(q.Key) || q.Value.Any(v => v is not null && (Inputs.HasControl(v) || v.Any(c => c is '\n' or '\r')))))
        {
            http.Response.StatusCode = 400;
            await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                ProblemDetails = { Status = 400, Title = "Invalid input", Detail = "the path or query string contains control characters" },
            });
            return;
        }
        await next(http);
    }
}
