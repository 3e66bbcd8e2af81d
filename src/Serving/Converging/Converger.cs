using System.Security.Cryptography;
using System.Text;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Loading;
using EventMlOps.Serving.Observability;
using EventMlOps.Serving.Routing;

namespace EventMlOps.Serving.Converging;

/// <summary>Converges the routing table to each desired state without dropping a request: new versions are loaded,
/// verified and warmed before the new table is swapped in whole; versions left out are released and unload once their
/// last request finished. A version that fails to load is reported and refused, and what served before keeps
/// serving; the failure never ends the process.</summary>
public sealed class Converger(IDesiredStateSource source, ModelLoader loader, Router router, ServingMetrics metrics, ILogger<Converger> log)
    : BackgroundService
{
    /// <summary>This serving process, in every report's command id: see <see cref="Observed"/>.</summary>
    private readonly Guid _process = Guid.NewGuid();

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        await foreach (var desired in source.WatchAsync(ct))
            await source.ReportAsync(await ApplyAsync(desired, ct), ct);
    }

    public async Task<EndpointStatusReport> ApplyAsync(ApplyEndpoint desired, CancellationToken ct)
    {
        var current = router.Current;
        var routes = new List<WeightedVersion>();
        var fresh = new List<ServedModel>();
        var refused = new List<(ServedVersion Version, string Reason)>();
        foreach (var version in desired.Versions)
        {
            var model = current.Routes.Select(r => r.Model).FirstOrDefault(m =>
                m.Name == version.ModelName && m.Version == version.Version && string.Equals(m.Sha256, version.ArtifactSha256, StringComparison.OrdinalIgnoreCase));
            if (model is null)
            {
                try
                {
                    fresh.Add(model = await loader.LoadAsync(version, ct));
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    log.LogError(e, "Refused {Model}@{Version} from {Uri}: {Reason}", version.ModelName, version.Version, version.ArtifactUri, e.Message);
                    metrics.Error("load_failed", "converge");
                    refused.Add((version, Refusal.Brief(e.Message)));
                    continue;
                }
            }
            routes.Add(new WeightedVersion(model, version.Weight));
        }
        // A refused version must not leave its model without traffic: its loaded fallback (a weight-0 version, the last one
        // known to load) takes the model's traffic, else the model's routes stay as they were.
        var errors = refused.Select(r => $"{r.Version.ModelName}@{r.Version.Version}: {r.Reason}").ToList();
        foreach (var name in refused.Select(r => r.Version.ModelName).Distinct().Where(name => !routes.Any(r => r.Model.Name == name && r.Weight > 0)).ToList())
        {
            var fallback = routes.Where(r => r.Model.Name == name).ToList();
            routes.RemoveAll(r => r.Model.Name == name);
            if (fallback.Count > 0)
            {
                routes.AddRange(fallback.Select((r, i) => r with { Weight = 100 / fallback.Count + (i < 100 % fallback.Count ? 1 : 0) }));
                errors.Add($"serving fallback {string.Join(", ", fallback.Select(r => r.Model.Label))}");
            }
            else
            {
                routes.AddRange(current.Routes.Where(r => r.Model.Name == name));
            }
        }

        var next = new RoutingTable(desired.Revision, routes);
        var previous = router.Swap(next);
        foreach (var retired in previous.Routes.Select(r => r.Model).Concat(fresh).Distinct().Where(m => next.Routes.All(r => r.Model != m)))
        {
            log.LogInformation("Unloading {Model} once its in-flight requests finish", retired.Label);
            retired.Release();
        }
        log.LogInformation("Revision {Revision} of {Endpoint}: {Routes}", desired.Revision, desired.Endpoint,
            string.Join(", ", routes.Select(r => $"{r.Model.Label} {r.Weight}")));
        return Observed(_process, desired, next, errors);
    }

    /// <summary>What serves now. Ready means the desired revision was met in full. The command id derives from the
    /// process and the content, so a retried report is one fact, while a restarted process (or another replica)
    /// reporting the same revision is a new one: with the content alone, "ready" after an intervening "not ready"
    /// of the same revision would be taken for the first "ready" again and appended nothing.</summary>
    public static EndpointStatusReport Observed(Guid process, ApplyEndpoint desired, RoutingTable table, IReadOnlyList<string> errors)
    {
        var loaded = table.Routes.Select(r => new LoadedVersion(r.Model.Version, r.Model.Sha256, r.Weight)).ToList();
        var message = errors.Count == 0 ? null : string.Join("; ", errors);
        var identity = $"{process}|{desired.Endpoint}|{desired.Revision}|{message}|{string.Join(",", loaded)}";
        var id = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(identity)).AsSpan(0, 16));
        return new EndpointStatusReport(id, desired.Endpoint, desired.Revision, errors.Count == 0 && loaded.Count > 0, message, loaded);
    }
}
