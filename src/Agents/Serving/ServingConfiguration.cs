using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Rollout;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Serving;

public static class ServingConfiguration
{
    /// <summary>The serving runtime and the rollout agent, on the workload runtime the training agent registered (one
    /// runtime, one folder of jobs). Register after Wolverine and the training agent.</summary>
    public static IServiceCollection AddRolloutAgent(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(ServingAgentOptions.From(config));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ReplicaTokens>();
        services.AddSingleton(sp => SamplesKeys.From(config, sp.GetRequiredService<ILogger<SamplesKeys>>()));
        if (AgentSettings.OnKubernetes(config)) services.AddKubernetesServing(config);
        else
        {
            services.AddSingleton<LocalServingRuntime>();
            services.AddSingleton<IServingRuntime>(sp => sp.GetRequiredService<LocalServingRuntime>());
            services.AddHostedService(sp => sp.GetRequiredService<LocalServingRuntime>());
            services.AddSingleton<IEndpointMetrics, ScrapedEndpointMetrics>();
        }
        services.AddSingleton<CanaryAnalyzer>();
        services.AddHostedService(sp => sp.GetRequiredService<CanaryAnalyzer>());
        services.AddHostedService<EndpointOrders>();
        return services;
    }
}
