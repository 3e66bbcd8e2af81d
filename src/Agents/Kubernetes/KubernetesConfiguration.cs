using EventMlOps.Agents.Rollout;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Kubernetes;

/// <summary><c>Agents:Runtime=kubernetes</c>: the agents' jobs and endpoints on a cluster (see the README: what is created,
/// the permissions needed, how artifacts and secrets flow).</summary>
public static class KubernetesConfiguration
{
    /// <summary>The cluster connection and its watched caches, once for both agents.</summary>
    public static IServiceCollection AddKubernetesCluster(this IServiceCollection services, IConfiguration config)
    {
        if (services.Any(s => s.ServiceType == typeof(KubeCluster))) return services;
        services.AddSingleton(sp =>
        {
            var options = KubernetesOptions.From(config);
            var logs = sp.GetRequiredService<ILoggerFactory>();
            (k8s.IKubernetes Client, string Namespace, bool InCluster) connection;
            try { connection = KubeCluster.Connect(options); }
            catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or FileNotFoundException or InvalidOperationException)
            {
                throw new InvalidOperationException(
                    $"Agents:Runtime=kubernetes, but no cluster can be reached from here: run in a pod, or set KUBECONFIG or Kubernetes:Kubeconfig ({e.Message})", e);
            }
            if (config["Artifacts:S3:Bucket"] is not { Length: > 0 })
                logs.CreateLogger("EventMlOps.Agents.Kubernetes").LogWarning(
                    "Agents:Runtime=kubernetes with the local artifact store: pods do not share this agent's disk, so trainers cannot fetch their data nor publish their models, and replicas cannot load them. Configure Artifacts:S3 (an S3-compatible bucket).");
            return new KubeCluster(connection.Client, connection.Namespace, options, connection.InCluster, logs);
        });
        services.AddHostedService(sp => sp.GetRequiredService<KubeCluster>());
        return services;
    }

    public static IServiceCollection AddKubernetesJobs(this IServiceCollection services, IConfiguration config) =>
        services.AddKubernetesCluster(config)
            .AddSingleton<IWorkloadRuntime>(sp => new KubernetesJobRuntime(sp.GetRequiredService<KubeCluster>(),
                (int)Hosting.AgentSettings.Number(config, "Agents:LogTailLines", 20), sp.GetService<TimeProvider>()));

    public static IServiceCollection AddKubernetesServing(this IServiceCollection services, IConfiguration config)
    {
        services.AddKubernetesCluster(config);
        services.AddSingleton<KubernetesServingRuntime>();
        services.AddSingleton<IServingRuntime>(sp => sp.GetRequiredService<KubernetesServingRuntime>());
        services.AddHostedService(sp => sp.GetRequiredService<KubernetesServingRuntime>());
        services.AddSingleton<IEndpointMetrics, KubernetesEndpointMetrics>();
        return services;
    }
}
