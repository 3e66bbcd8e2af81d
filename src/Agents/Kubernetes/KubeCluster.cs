using k8s;
using k8s.Models;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>The agents' view of their namespace: the client, and watched caches of the Jobs, Deployments and pods they
/// manage (label <c>app.kubernetes.io/managed-by=emo-agents</c>), kept current while the agent runs.</summary>
public sealed class KubeCluster : BackgroundService
{
    public KubeCluster(IKubernetes client, string ns, KubernetesOptions options, bool inCluster, ILoggerFactory logs)
    {
        Client = client;
        // It becomes a path segment of every call and a label selector's scope: a DNS label, nothing else.
        Namespace = Runtime.JobSpec.IsDnsLabel(ns)
            ? ns
            : throw new InvalidOperationException($"the Kubernetes namespace {(ns.Length <= 63 && !ns.Any(char.IsControl) ? $"'{ns}'" : $"of {ns.Length} characters")} is not a DNS label (Kubernetes:Namespace)");
        Options = options with { Namespace = ns };
        InCluster = inCluster;
        var log = logs.CreateLogger<KubeCluster>();
        var selector = KubeObjects.Selector(KubeObjects.Managed);
        Jobs = new KubeInformer<V1Job, V1JobList>(
            ct => client.BatchV1.ListNamespacedJobAsync(ns, labelSelector: selector, cancellationToken: ct),
            (version, ended, ct) => client.BatchV1.WatchListNamespacedJobAsync(ns, labelSelector: selector, resourceVersion: version, onError: ended, cancellationToken: ct),
            "jobs", log);
        Pods = new KubeInformer<V1Pod, V1PodList>(
            ct => client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: ct),
            (version, ended, ct) => client.CoreV1.WatchListNamespacedPodAsync(ns, labelSelector: selector, resourceVersion: version, onError: ended, cancellationToken: ct),
            "pods", log);
        Deployments = new KubeInformer<V1Deployment, V1DeploymentList>(
            ct => client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: ct),
            (version, ended, ct) => client.AppsV1.WatchListNamespacedDeploymentAsync(ns, labelSelector: selector, resourceVersion: version, onError: ended, cancellationToken: ct),
            "deployments", log);
    }

    public IKubernetes Client { get; }

    public string Namespace { get; }

    /// <summary>The options, with <see cref="KubernetesOptions.Namespace"/> resolved.</summary>
    public KubernetesOptions Options { get; }

    /// <summary>The agent runs in the cluster (pods are reached directly), not through the API server's proxy.</summary>
    public bool InCluster { get; }

    public KubeInformer<V1Job, V1JobList> Jobs { get; }

    public KubeInformer<V1Pod, V1PodList> Pods { get; }

    public KubeInformer<V1Deployment, V1DeploymentList> Deployments { get; }

    /// <summary>A readiness check: the API server answered the first list of each kind the agents watch.</summary>
    public sealed class Health(KubeCluster cluster) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
            Task.FromResult(cluster.Jobs.Synced && cluster.Pods.Synced && cluster.Deployments.Synced
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"the Kubernetes API server has not listed the agents' jobs, pods and deployments in {cluster.Namespace} yet"));
    }

    /// <summary>The pods of one workload (its <c>app.kubernetes.io/instance</c>).</summary>
    public async Task<IReadOnlyList<V1Pod>> PodsOfAsync(string instance, CancellationToken ct) =>
        (await Pods.AllAsync(ct)).Where(p => KubeObjects.Label(p.Metadata, KubeObjects.InstanceLabel) == instance).ToList();

    /// <summary>Where a serving pod answers: its own address when the agent runs in the cluster, else (null) only through
    /// the API server's pod proxy.</summary>
    public Uri? DirectUrl(V1Pod pod) => InCluster && pod.Status?.PodIP is { Length: > 0 } ip
        ? new Uri($"http://{(ip.Contains(':') ? $"[{ip}]" : ip)}:{Options.ServingPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}/")
        : null;

    /// <summary>The pod's serving port as the API server's pod proxy names it.</summary>
    public string ProxyName(V1Pod pod) => $"{pod.Metadata.Name}:{Options.ServingPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The client for <c>Kubernetes:Kubeconfig</c>, <c>KUBECONFIG</c> or <c>~/.kube/config</c>, else the pod's
    /// service account in a cluster; and the namespace to use.</summary>
    public static (IKubernetes Client, string Namespace, bool InCluster) Connect(KubernetesOptions options)
    {
        var file = options.Kubeconfig ?? Environment.GetEnvironmentVariable("KUBECONFIG");
        var inCluster = file is null && KubernetesClientConfiguration.IsInCluster();
        var config = inCluster ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildConfigFromConfigFile(file);
        return (new k8s.Kubernetes(config), options.Namespace ?? config.Namespace ?? "eventmlops", inCluster);
    }

    protected override Task ExecuteAsync(CancellationToken ct) =>
        Task.WhenAll(Jobs.RunAsync(ct), Pods.RunAsync(ct), Deployments.RunAsync(ct));
}
