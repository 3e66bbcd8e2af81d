using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using EventMlOps.ControlPlane;
using EventMlOps.ControlPlane.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Wolverine;

namespace EventMlOps.Agents;

/// <summary>The agents' worker host, in one order: service defaults (JSON logs) → Wolverine (transport, inbox/outbox,
/// handlers) → agents. Runs standalone (<c>dotnet emo-agents.dll</c>, see Program.cs) or beside the control plane in
/// one process (<see cref="StartAsync"/>; Wolverine needs a host of its own, so it is a second host, not more services).</summary>
public static class AgentsApp
{
    /// <summary>A standalone host with its own JSON console logs. Configuration: the command line, environment and
    /// appsettings as for any .NET host; see <see cref="ConfigureAsync"/> for the keys.</summary>
    public static async Task<IHost> BuildAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSerilog((_, log) => log
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Wolverine", LogEventLevel.Warning)
            .MinimumLevel.Override("JasperFx", LogEventLevel.Warning)
            .MinimumLevel.Override("Marten", LogEventLevel.Warning)
            .Enrich.WithProperty("service", "emo-agents")
            .WriteTo.Console(new RenderedCompactJsonFormatter()),
            preserveStaticLogger: true); // a control plane in the same process keeps its own logger
        await ConfigureAsync(builder);
        return builder.Build();
    }

    /// <summary>Builds and starts the host; the caller stops and disposes it (e.g. inside <c>emo up</c>).</summary>
    public static async Task<IHost> StartAsync(string[] args, CancellationToken ct = default)
    {
        var host = await BuildAsync(args);
        await host.StartAsync(ct);
        return host;
    }

    /// <summary>
    /// Adds the agents to a host builder. Keys: the control plane's bus settings (<c>EMO_POSTGRES</c> /
    /// <c>ConnectionStrings:Marten</c> or the private cluster in <c>$EMO_HOME/pg</c>, <c>Marten:Schema</c>,
    /// <c>Bus:RabbitMq</c>, <c>EMO_KAFKA</c>); <c>Agents:Token</c> or <c>Agents:TokenFile</c> (the agents' own
    /// token: they hold no signing key); <c>Training:Trainer</c> / <c>EMO_TRAINER</c>, <c>Training:TrackingUri</c>;
    /// <c>Agents:HeartbeatSeconds</c> (15), <c>Agents:CancelGraceSeconds</c> (10), <c>Agents:PollMilliseconds</c> (250);
    /// serving replicas as <see cref="Serving.ServingAgentOptions"/> reads them (<c>Serving:Server</c> / <c>EMO_SERVE</c>,
    /// <c>Agents:ControlPlaneUrl</c>);
    /// artifacts as <see cref="Artifacts.ArtifactStore.FromConfiguration"/> reads them.
    /// </summary>
    public static async Task ConfigureAsync(HostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var settings = BusSettings.From(config);
        var schema = config["Marten:Schema"] ?? "emo";
        var connectionString = settings.Transport == BusTransport.Postgresql
            ? await Database.ResolveConnectionStringAsync(config)
            : (config["EMO_POSTGRES"] ?? config.GetConnectionString("Marten")) is { Length: > 0 } configured ? configured : null;
        var token = AgentToken.From(config);
        builder.Services.AddSingleton(token);
        var grants = new WorkGrants(TimeProvider.System);
        builder.Services.AddSingleton(grants);

        builder.UseWolverine(opts =>
        {
            // Only this assembly's handlers (LaunchTraining, StopTraining, ApplyEndpoint), not the control plane's.
            opts.ApplicationAssembly = typeof(AgentsApp).Assembly;
            opts.UseRuntimeCompilation();
            opts.UseSystemTextJsonForSerialization(ControlPlaneApp.Json);
            opts.Durability.ScheduledJobPollingTime = TimeSpan.FromMilliseconds(250);
            AgentBus.Configure(opts, settings, connectionString, schema, token, grants);
        });

        builder.Services.AddTrainingAgent(config);
        builder.Services.AddRolloutAgent(config);
    }
}
