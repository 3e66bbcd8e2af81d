using System.Threading.RateLimiting;
using EventMlOps.ControlPlane.Commanding;
using Microsoft.AspNetCore.RateLimiting;

namespace EventMlOps.ControlPlane.Hosting;

/// <summary>Back-pressure: at most <c>Api:MaxConcurrentCommands</c> (64) commands are handled at once and
/// <c>Api:CommandQueue</c> (64) wait; beyond that a command is shed at once with 503 and <c>Retry-After</c>, so an overload
/// costs callers a retry instead of queueing every request for seconds.</summary>
public static class CommandAdmission
{
    public static void Configure(RateLimiterOptions options, IConfiguration config)
    {
        options.AddConcurrencyLimiter(CommandRoutes.CommandLimiter, o =>
        {
            o.PermitLimit = Math.Max(1, config.GetValue("Api:MaxConcurrentCommands", 64));
            o.QueueLimit = Math.Max(0, config.GetValue("Api:CommandQueue", 64));
            o.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
        });
        options.RejectionStatusCode = StatusCodes.Status503ServiceUnavailable;
        options.OnRejected = async (context, ct) =>
        {
            context.HttpContext.Response.Headers.RetryAfter = "1";
            await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context.HttpContext,
                ProblemDetails = { Status = 503, Title = "Overloaded", Detail = "the control plane is handling as many commands as it can; retry after a second" },
            });
        };
    }
}
