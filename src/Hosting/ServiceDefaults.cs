using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace EventMlOps.Hosting;

/// <summary>What every host of the platform has, in the spirit of eShop's ServiceDefaults: JSON logs on the console,
/// OpenTelemetry metrics scraped at <c>/metrics</c>, <c>/health/live</c> and a <c>/health/ready</c> made of the
/// checks tagged <see cref="Ready"/>, and the wire JSON.</summary>
public static class ServiceDefaults
{
    public const string Ready = "ready";

    // Meters ASP.NET Core makes with each host's own IMeterFactory: requests, Kestrel.
    private static readonly string[] HostMeters = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>Marten's meter, made once for the process: only a host that owns the event store exports it.</summary>
    public const string EventStoreMeter = "Marten";

    /// <summary>Wolverine names its meter after the service (default: the entry assembly, shared by every host of a
    /// process); each host sets <c>opts.ServiceName</c> to its <c>service</c> so that its bus meter is its own.</summary>
    public static string BusMeter(string service) => "Wolverine:" + service;

    /// <param name="service">The service name on every log line and metric (<c>emo-controlplane</c>, <c>emo-agents</c> …).</param>
    /// <param name="quiet">Log events left out, e.g. a refused command logged as one line elsewhere.</param>
    /// <param name="meters">The host's own meters (made with its IMeterFactory), beside the common ones.</param>
    /// <param name="processMeters">Meters made once for the process that this host alone should export (<see cref="EventStoreMeter"/>).</param>
    public static IHealthChecksBuilder AddServiceDefaults(this WebApplicationBuilder builder, string service,
        LogEventLevel level = LogEventLevel.Information, Func<LogEvent, bool>? quiet = null, string[]? processMeters = null, params string[] meters)
    {
        builder.Services.AddSerilog((_, log) =>
            {
                log.MinimumLevel.Is(level)
                    .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
                    .MinimumLevel.Override("Wolverine", LogEventLevel.Warning)
                    .MinimumLevel.Override("JasperFx", LogEventLevel.Warning)
                    .MinimumLevel.Override("Marten", LogEventLevel.Warning)
                    .Enrich.WithProperty("service", service)
                    .WriteTo.Console(new RenderedCompactJsonFormatter());
                if (quiet is not null) log.Filter.ByExcluding(quiet);
            },
            preserveStaticLogger: true); // hosts sharing a process (`emo up`) keep a logger each
        // Enabled through the host's metrics builder, not OpenTelemetry's AddMeter: AddMeter listens by name to every
        // meter in the process, so hosts sharing one (`emo up`, the tests) would count each other's requests in one
        // series, and one stopping would end the other's. The local scope is the meters this host's IMeterFactory made.
        foreach (var meter in HostMeters.Concat(meters))
            builder.Metrics.EnableMetrics(meter, scopes: MeterScope.Local);
        foreach (var meter in new[] { "System.Runtime", BusMeter(service) }.Concat(processMeters ?? []))
            builder.Metrics.EnableMetrics(meter, scopes: MeterScope.Global);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(service))
            // No cached scrape: a scrape right after another (two scrapers, or a gauge read per scrape) sees the present.
            .WithMetrics(m => m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        builder.Services.ConfigureHttpJsonOptions(o => WireJson.Configure(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        return builder.Services.AddHealthChecks();
    }

    /// <summary>A readiness check that the database answers <c>select 1</c> within 2 s.</summary>
    public static IHealthChecksBuilder AddDatabase(this IHealthChecksBuilder checks, Func<IServiceProvider, System.Data.Common.DbConnection> connect) =>
        checks.Add(new HealthCheckRegistration("database", s => new DatabaseHealth(() => connect(s)), HealthStatus.Unhealthy, [Ready]));

    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteReadiness });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary>Plain text naming what is not ready (the checks' own descriptions, which say nothing internal), with
    /// <c>Retry-After</c> while unready.</summary>
    private static Task WriteReadiness(Microsoft.AspNetCore.Http.HttpContext http, HealthReport report)
    {
        if (report.Status != HealthStatus.Healthy) http.Response.Headers.RetryAfter = "5";
        http.Response.ContentType = "text/plain";
        var unready = report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy).Select(e => e.Description ?? "unhealthy");
        return Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(http.Response,
            report.Status == HealthStatus.Healthy ? "Healthy" : $"Unhealthy: {string.Join("; ", unready)}");
    }

    private sealed class DatabaseHealth(Func<System.Data.Common.DbConnection> connect) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                await using var conn = connect();
                await conn.OpenAsync(timeout.Token);
                await using var cmd = conn.CreateCommand();
                cmd.CommandText = "select 1";
                await cmd.ExecuteScalarAsync(timeout.Token);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy("the database does not answer");
            }
        }
    }
}
