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
using EventMlOps.Serving.Streams;
using Wolverine;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventMlOps.Serving;

/// <summary>The serving host (<c>emo-serve</c>), in one order: service defaults → models and their desired state →
/// endpoints.</summary>
public static class ServingApp
{
    /// <summary>The service name on its logs and metrics, and its bus's (so that its Wolverine meter is its own).</summary>
    public const string Service = "emo-serve";

    /// <summary>Command-line flags onto the <c>Serving</c> section (any <c>--Serving:Key=value</c> works too).</summary>
    private static readonly Dictionary<string, string> Flags = new()
    {
        ["--desired"] = "Serving:Desired",
        ["--control-plane"] = "Serving:ControlPlane",
        ["--endpoint"] = "Serving:Endpoint",
        ["--token"] = "Serving:Token",
        ["--allowed-lateness"] = "Serving:Stream:AllowedLateness",
        ["--clear-after"] = "Serving:Stream:ClearAfter",
        ["--raise-after"] = "Serving:Stream:RaiseAfter",
    };

    public static WebApplication Build(string[] args)
    {
        // A switch without a value: the command-line provider would take the next argument for it.
        args = [.. args.Select(a => a == "--stream" ? "--Serving:Stream:Enabled=true" : a)];
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, Flags);
        builder.Configuration.AddConfigFiles();
        var options = builder.Configuration.GetSection("Serving").Get<ServingOptions>() ?? new ServingOptions();

        // Service defaults (JSON logs, metrics, health), then request limits.
        builder.AddServiceDefaults(Service, options.LogLevel, meters: [ServingMetrics.MeterName, StreamMetrics.MeterName])
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
        if (options.Stream.Enabled) AddStream(builder, options);

        var app = builder.Build();
        app.UseMiddleware<Admission>();
        app.MapServiceDefaults();
        app.MapOpenInferenceProtocol();
        app.MapRecommend();
        app.MapScore();
        app.MapSamples(options);
        return app;
    }

    /// <summary>The stream scorer beside the request/response server: the same routing table, so a canary or a rollback of
    /// the endpoint applies to its stream as well.</summary>
    private static void AddStream(WebApplicationBuilder builder, ServingOptions options)
    {
        var endpoint = options.Endpoint ?? throw new ArgumentException("--stream needs --endpoint <name>: the endpoint whose readings to score");
        var database = options.Stream.Database
            ?? throw new ArgumentException("--stream needs Serving:Stream:Database (a PostgreSQL connection string): the scorer keeps its windows there");
        if (options.Stream.ClearAfter < 1) throw new ArgumentException("Serving:Stream:ClearAfter must be at least 1");
        if (options.Stream.RaiseAfter < 1) throw new ArgumentException("Serving:Stream:RaiseAfter must be at least 1");
        if (options.Stream.AllowedLateness < TimeSpan.Zero) throw new ArgumentException("Serving:Stream:AllowedLateness must not be negative");
        var schema = options.Stream.SchemaFor(endpoint);
        builder.Services.AddSingleton(_ => new StreamStore(Npgsql.NpgsqlDataSource.Create(database), schema));
        builder.Services.AddSingleton<StreamMetrics>();
        builder.Services.AddSingleton<StreamScorer>();
        builder.Services.AddSingleton<FactSender>();
        builder.Services.AddHostedService(s => s.GetRequiredService<FactSender>());
        builder.Host.UseWolverine(opts =>
        {
            opts.ServiceName = Service;
            opts.CodeGeneration.TypeLoadMode = CodeGeneration.Mode(builder.Configuration);
            StreamBus.Configure(opts, BusSettings.From(builder.Configuration), database, schema, options.Stream.QueueSchema, endpoint);
        });
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
