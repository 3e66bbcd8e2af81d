using Microsoft.AspNetCore.Mvc;

namespace EventMlOps.ControlPlane.Hosting;

/// <summary>The last of the ProblemDetails writers: a client that asks for something other than JSON (<c>Accept: text/html</c>
/// alone) still gets its problem as <c>application/problem+json</c> — never a 500 because no writer would take the request.</summary>
public sealed class ProblemJson : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context) =>
        new(context.HttpContext.Response.WriteAsJsonAsync(context.ProblemDetails, typeof(ProblemDetails), (System.Text.Json.JsonSerializerOptions?)null,
            "application/problem+json", context.HttpContext.RequestAborted));
}
