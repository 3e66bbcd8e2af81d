using System.Globalization;
using EventMlOps.Agents.Serving;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Rollout;

/// <summary>An endpoint's serving metrics, over every replica it has: what canary analysis judges.</summary>
public interface IEndpointMetrics
{
    /// <summary>The endpoint's metrics of <paramref name="model"/> now; null when no replica runs or one could not be read
    /// (a partial sum would understate the traffic).</summary>
    Task<MetricsSnapshot?> ReadAsync(string endpoint, string model, CancellationToken ct);
}

/// <summary>Scrapes each replica the serving runtime reports (<c>/metrics</c>, Prometheus text) and sums them.</summary>
public sealed class ScrapedEndpointMetrics(IServingRuntime serving, ILogger<ScrapedEndpointMetrics> log) : IEndpointMetrics
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task<MetricsSnapshot?> ReadAsync(string endpoint, string model, CancellationToken ct)
    {
        try
        {
            if (await serving.ObserveAsync(endpoint, ct) is not { Replicas.Count: > 0 } observed) return null;
            var snapshots = await Task.WhenAll(observed.Replicas.Select(async replica =>
                MetricsSnapshot.Parse(await Http.GetStringAsync(new Uri(replica.Url, "metrics"), ct), model)
                    with { Replicas = $"{replica.Url}@{replica.StartedAt?.ToString("O", CultureInfo.InvariantCulture)}" }));
            return MetricsSnapshot.Sum(snapshots);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("Reading {Endpoint}'s metrics failed: {Reason}", endpoint, e.Message);
            return null;
        }
    }
}
