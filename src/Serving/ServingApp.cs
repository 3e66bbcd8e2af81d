using EventMlOps.Artifacts;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Converging;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Inference;
using EventMlOps.Serving.Loading;
using EventMlOps.Serving.Observability;
using EventMlOps.Serving.Recommending;
using EventMlOps.Serving.Routing;
using EventMlOps.Serving.Scoring;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventMlOps.Serving;

/// <summary>The serving host (<c>emo-serve</c>), in one order: service defaults → models and their desired state →
/// endpoints.</summary>
public static class ServingApp
{
    /// <summary>Command-line flags onto the <c>Serving</c> section (any <c>--Serving:Key=value</c> works too).</summary>
    private static readonly Dictionary<string, string> Flags = new()
    {
        ["--desired"] = "Serving:Desired",
        ["--control-plane"] = "Serving:ControlPlane",
        ["--endpoint"] = "Serving:Endpoint",
        ["--token"] = "Serving:Token",
    };

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, Flags);
        builder.Configuration.AddConfigFiles();
        var options = builder.Configuration.GetSection("Serving").Get<ServingOptions>() ?? new ServingOptions();

        // Service defaults (JSON logs, metrics, health), then request limits.
        builder.AddServiceDefaults("emo-serve", options.LogLevel, meters: ServingMetrics.MeterName)
            .AddCheck<ReadinessCheck>("models", tags: [ServiceDefaults.Ready]);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);

        // Models: the desired state, what is loaded, how requests reach it.
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<Router>();
        builder.Services.AddSingleton<Readiness>();
        builder.Services.AddSingleton<ServingMetrics>();
        builder.Services.AddSingleton<BatchPolicy>();
        builder.Services.AddSingleton<OrtSessions>();
        builder.Services.AddSingleton<ModelLoader>();
        builder.Services.AddSingleton<IArtifactStore>(_ => ArtifactStore.FromConfiguration(builder.Configuration, EmoHome.Resolve(builder.Configuration)));
        builder.Services.AddSingleton(DesiredStateSource(options));
        builder.Services.AddSingleton<Samples>();
        builder.Services.AddHostedService(s => s.GetRequiredService<Samples>());
        builder.Services.AddHostedService<Converger>();

        var app = builder.Build();
        app.UseMiddleware<Admission>();
        app.MapServiceDefaults();
        app.MapOpenInferenceProtocol();
        app.MapRecommend();
        app.MapScore();
        app.MapSamples(options);
        return app;
    }

    private static Func<IServiceProvider, IDesiredStateSource> DesiredStateSource(ServingOptions options)
    {
        if (options.ControlPlane is { Length: > 0 } controlPlane)
        {
            if (options.Endpoint is not { Length: > 0 } endpoint || options.Token is not { Length: > 0 } token)
                throw new ArgumentException("--control-plane needs --endpoint <name> and --token <agent token>");
            return s => new ControlPlaneDesiredState(ControlPlaneDesiredState.Client(controlPlane), endpoint, token,
                s.GetRequiredService<ILogger<ControlPlaneDesiredState>>());
        }
        if (options.Desired is { Length: > 0 } file)
            return s => new FileDesiredState(Path.GetFullPath(file), options.DesiredPollInterval, s.GetRequiredService<ILogger<FileDesiredState>>());
        throw new ArgumentException("say what to serve: --desired <file.json>, or --control-plane <url> --endpoint <name> --token <agent token>");
    }

    private sealed class ReadinessCheck(Readiness readiness) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct) =>
            Task.FromResult(readiness.IsReady ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("no model version is loaded, or shutting down"));
    }
}
