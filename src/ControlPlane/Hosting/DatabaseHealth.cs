using Marten;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventMlOps.ControlPlane.Hosting;

/// <summary>Readiness means the event store answers: while PostgreSQL is away <c>/health/ready</c> says 503 (with
/// <c>Retry-After</c>), and the API answers 503 too (<see cref="Commanding.ProblemMapping"/>) — recovery needs no restart.</summary>
public sealed class DatabaseHealth(IDocumentStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await using var conn = store.Storage.Database.CreateConnection();
            await conn.OpenAsync(timeout.Token);
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = "select 1";
            await cmd.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("the event store's database does not answer");
        }
    }

    public static Task WriteAsync(HttpContext http, HealthReport report)
    {
        if (report.Status != HealthStatus.Healthy) http.Response.Headers.RetryAfter = "5";
        http.Response.ContentType = "text/plain";
        return http.Response.WriteAsync(report.Status == HealthStatus.Healthy ? "Healthy" : "Unhealthy: the event store's database does not answer");
    }
}
