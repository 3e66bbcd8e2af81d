using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Runtime;
using EventMlOps.Artifacts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Training;

public static class TrainingConfiguration
{
    /// <summary>The training agent's services. Register after Wolverine: its hosted services then start after the bus
    /// (re-adopted runs report at once) and stop before it (no report is cut off half-sent).</summary>
    public static IServiceCollection AddTrainingAgent(this IServiceCollection services, IConfiguration config)
    {
        var options = TrainingAgentOptions.From(config);
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        // Jobs (trainers, model servers) run as an unprivileged account when the agent is root: see JobUser.
        if (AgentSettings.OnKubernetes(config)) services.AddKubernetesJobs(config);
        else services.AddSingleton<IWorkloadRuntime>(sp =>
        {
            var runAs = JobUser.Resolve(config["Agents:JobUser"], [options.Trainer, Serving.ServingAgentOptions.From(config).Server, options.Dotnet], out var why);
            if (why is not null)
                sp.GetRequiredService<ILogger<LocalProcessRuntime>>().LogWarning("Jobs run as the agent's own account: {Why}", why);
            return LocalProcessRuntime.ForHome(EmoHome.Resolve(config), options.CancelGrace, options.LogTailLines, runAs);
        });
        services.TryAddSingleton(_ => ArtifactStore.FromConfiguration(config, EmoHome.Resolve(config)));
        services.AddSingleton<TrainingFollower>();
        services.AddHostedService(sp => sp.GetRequiredService<TrainingFollower>());
        services.AddHostedService<TrainingRecovery>();
        return services;
    }
}
