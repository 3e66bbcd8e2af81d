using EventMlOps.Agents.Drift;
using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Wolverine;

namespace EventMlOps.Agents;

/// <summary>The agents' host, in one order: service defaults (JSON logs, <c>/metrics</c>, <c>/health/*</c> on
/// <c>--urls</c>, 127.0.0.1 on a free port by default) → Wolverine (transport, inbox/outbox, handlers) → agents. Runs
/// standalone (<c>dotnet emo-agents.dll</c>, see Program.cs) or beside the control plane in one process (<see cref="StartAsync"/>;
/// Wolverine needs a host of its own, so it is a second host, not more services). It is given its store and its own
/// token: it references neither the control plane nor its signing key, and starts no database.</summary>
public static class AgentsApp
{
    /// <summary>The service name on its logs and metrics, and its bus's (so that its Wolverine meter is its own).</summary>
    public const string Service = "emo-agents";

    /// <summary>
    /// Keys: the control plane's bus and store settings (<c>EMO_POSTGRES</c> / <c>ConnectionStrings:Marten</c>, required
    /// with the PostgreSQL transport; <c>Marten:Schema</c>, <c>Bus:RabbitMq</c>, <c>EMO_KAFKA</c>); <c>Agents:Token</c> or
    /// <c>Agents:TokenFile</c> (the agents' own token); <c>Training:Trainer</c> / <c>EMO_TRAINER</c>,
    /// <c>Training:TrackingUri</c>; <c>Agents:HeartbeatSeconds</c> (15), <c>Agents:CancelGraceSeconds</c> (10),
    /// <c>Agents:PollMilliseconds</c> (250); the drift agent's <c>Agents:DriftPollMilliseconds</c> (5000) and
    /// <c>Agents:SamplesSecret</c>; serving replicas as <see cref="Serving.ServingAgentOptions"/> reads them
    /// (<c>Serving:Server</c> / <c>EMO_SERVE</c>, <c>Agents:ControlPlaneUrl</c>); artifacts as
    /// <see cref="Artifacts.ArtifactStore.FromConfiguration"/> reads them.
    /// </summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddConfigFiles();
        var config = builder.Configuration;
        if (config["urls"] is not { Length: > 0 }) builder.WebHost.UseUrls("http://127.0.0.1:0");
        var settings = BusSettings.From(config);
        var schema = Store.Schema(config);
        var connectionString = settings.Transport == BusTransport.Postgresql ? Store.RequireConnectionString(config) : Store.ConnectionString(config);
        var health = builder.AddServiceDefaults(Service);
        if (connectionString is not null) health.AddDatabase(_ => new NpgsqlConnection(connectionString));
        if (AgentSettings.OnKubernetes(config))
            health.Add(new HealthCheckRegistration("kubernetes", sp => new KubeCluster.Health(sp.GetRequiredService<KubeCluster>()), HealthStatus.Unhealthy, [ServiceDefaults.Ready]));
        var token = AgentToken.From(config);
        builder.Services.AddSingleton(token);
        var grants = new WorkGrants(TimeProvider.System);
        builder.Services.AddSingleton(grants);

        builder.Host.UseWolverine(opts =>
        {
            // Only this assembly's handlers (LaunchTraining, StopTraining, ApplyEndpoint), not the control plane's.
            opts.ServiceName = Service;
            opts.ApplicationAssembly = typeof(AgentsApp).Assembly;
            opts.UseRuntimeCompilation();
            opts.CodeGeneration.TypeLoadMode = CodeGeneration.Mode(config);
            opts.UseSystemTextJsonForSerialization(WireJson.Configure);
            opts.Durability.ScheduledJobPollingTime = TimeSpan.FromMilliseconds(250);
            AgentBus.Configure(opts, settings, connectionString, schema, token, grants);
        });

        builder.Services.AddTrainingAgent(config);
        builder.Services.AddRolloutAgent(config);
        builder.Services.AddDriftAgent(config);
        builder.Services.AddHostedService<Hosting.AgentBeat>();
        var app = builder.Build();
        app.MapServiceDefaults();
        return app;
    }

    /// <summary>Builds and starts the host; the caller stops and disposes it (e.g. inside <c>emo up</c>).</summary>
    public static async Task<WebApplication> StartAsync(string[] args, CancellationToken ct = default)
    {
        var app = Build(args);
        await app.StartAsync(ct);
        return app;
    }
}
