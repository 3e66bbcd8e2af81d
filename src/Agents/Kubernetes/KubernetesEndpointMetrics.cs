using System.Globalization;
using EventMlOps.Agents.Rollout;
using EventMlOps.Agents.Serving;
using k8s;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>An endpoint's metrics on Kubernetes: <c>/metrics</c> of every ready pod of its Deployment — directly at the
/// pod's address when the agent runs in the cluster, else through the API server's pod proxy — summed, so that a canary
/// is judged on all replicas, not one.</summary>
public sealed class KubernetesEndpointMetrics(KubeCluster cluster, ILogger<KubernetesEndpointMetrics> log) : IEndpointMetrics
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task<MetricsSnapshot?> ReadAsync(string endpoint, string model, CancellationToken ct)
    {
        try
        {
            var pods = (await cluster.PodsOfAsync(LocalServingRuntime.ReplicaName(endpoint), ct)).Where(ReplicaFacts.Ready).ToList();
            if (pods.Count == 0) return null;
            var snapshots = await Task.WhenAll(pods.Select(async pod =>
                MetricsSnapshot.Parse(await ScrapeAsync(pod, ct), model)
                    with { Replicas = $"{pod.Metadata.Name}@{pod.Status?.StartTime?.ToString("O", CultureInfo.InvariantCulture)}" }));
            return MetricsSnapshot.Sum(snapshots);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("Reading {Endpoint}'s metrics failed: {Reason}", endpoint, e.Message);
            return null;
        }
    }

    private async Task<string> ScrapeAsync(k8s.Models.V1Pod pod, CancellationToken ct)
    {
        if (cluster.DirectUrl(pod) is { } url) return await Http.GetStringAsync(new Uri(url, "metrics"), ct);
        await using var body = await cluster.Client.CoreV1.ConnectGetNamespacedPodProxyWithPathAsync(cluster.ProxyName(pod), cluster.Namespace, "metrics", cancellationToken: ct);
        using var reader = new StreamReader(body);
        return await reader.ReadToEndAsync(ct);
    }
}
