using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using EventMlOps.Artifacts;
using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Drift;

/// <summary>
/// The drift agent: for every endpoint whose latest work order it holds (<see cref="Track"/>, beside the rollout agent),
/// each served version with a training baseline is measured. Every <see cref="DriftAgentOptions.PollInterval"/> it reads
/// each replica's new samples (<c>GET /samples</c> with the endpoint's samples key, a cursor per replica that starts over
/// when the replica's epoch changes), gathers them per version into windows (<see cref="DriftWindow"/>), scores every
/// feature the baseline and the samples share, and reports each closed window as a <see cref="DriftMeasured"/> fact whose
/// id comes from the endpoint, version and window start (a retry appends nothing). It judges nothing: the control plane
/// decides on the model's policy. Deleted endpoints and versions no longer served stop being measured.
/// </summary>
public sealed class DriftAgent(
    IServingRuntime serving,
    IArtifactStore store,
    SamplesKeys keys,
    DriftAgentOptions options,
    IWolverineRuntime wolverine,
    TimeProvider time,
    ILogger<DriftAgent> log) : BackgroundService
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Pages read from one replica per poll, at most: a replica far ahead is caught up over the next polls.</summary>
    private const int MaxPagesPerPoll = 10, PageSize = 1000;

    private readonly Dictionary<string, ApplyEndpoint> _orders = [];
    private readonly Dictionary<string, Watched> _watched = [];

    /// <summary>A measured version: its baseline's references (none when it could not be read) and its open window.</summary>
    private sealed class Measured(ArtifactRef baseline, IReadOnlyList<FeatureReference> references)
    {
        public ArtifactRef Baseline { get; } = baseline;
        public IReadOnlyList<FeatureReference> References { get; } = references;
        public DriftWindow? Open { get; set; }
    }

    /// <summary>What is watched of one endpoint: each replica's epoch and cursor, each version measured.</summary>
    private sealed class Watched
    {
        public Dictionary<Uri, (string Epoch, long Next)> Cursors { get; } = [];
        public Dictionary<(string Model, int Version), Measured> Versions { get; } = [];
    }

    /// <summary>Follows the endpoint's latest order; an older one (delivered in parallel with a newer) changes nothing.</summary>
    public void Track(ApplyEndpoint order)
    {
        lock (_orders)
        {
            if (_orders.TryGetValue(order.Endpoint, out var held) && held.Revision > order.Revision) return;
            _orders[order.Endpoint] = order;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            List<ApplyEndpoint> orders;
            lock (_orders) orders = [.. _orders.Values.Where(o => !o.Deleted)];
            foreach (var gone in _watched.Keys.Except(orders.Select(o => o.Endpoint)).ToList()) _watched.Remove(gone);
            foreach (var order in orders)
            {
                try
                {
                    await MeasureAsync(order, ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    log.LogWarning("Measuring the drift of {Endpoint} failed ({Reason}); trying again in {Interval}", order.Endpoint, e.Message, options.PollInterval);
                }
            }
            try { await Task.Delay(options.PollInterval, time, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task MeasureAsync(ApplyEndpoint order, CancellationToken ct)
    {
        var watched = _watched.TryGetValue(order.Endpoint, out var w) ? w : _watched[order.Endpoint] = new Watched();
        var served = order.Versions.Where(v => v.Baseline is not null).ToDictionary(v => (v.ModelName, v.Version));
        foreach (var stale in watched.Versions.Where(v => !served.TryGetValue(v.Key, out var s) || s.Baseline != v.Value.Baseline).Select(v => v.Key).ToList())
            watched.Versions.Remove(stale);
        foreach (var (key, version) in served)
            if (!watched.Versions.ContainsKey(key))
                watched.Versions[key] = new Measured(version.Baseline!, await ReferencesAsync(order.Endpoint, version, ct));
        if (!watched.Versions.Values.Any(v => v.References.Count > 0)) return;

        var samples = new List<DriftSample>();
        var replicas = (await serving.ObserveAsync(order.Endpoint, ct))?.Replicas ?? [];
        foreach (var gone in watched.Cursors.Keys.Except(replicas.Select(r => r.Url)).ToList()) watched.Cursors.Remove(gone);
        foreach (var replica in replicas) samples.AddRange(await ReadAsync(order.Endpoint, replica.Url, watched.Cursors, ct));

        var policy = order.Drift ?? DriftPolicy.Default;
        var now = time.GetUtcNow();
        foreach (var ((model, number), measured) in watched.Versions.Where(v => v.Value.References.Count > 0))
        {
            var mine = samples.Where(s => s.Model == model && s.Version == number).OrderBy(s => s.Time).ToList();
            var (closed, open) = DriftWindow.Add(measured.Open, mine, policy, now);
            measured.Open = open;
            if (open is not null && now - open.Start >= TimeSpan.FromSeconds(policy.WindowSeconds))
                log.LogDebug("{Endpoint} {Model} v{Version}: the window since {Start} has {Samples} samples, fewer than {Min}; waiting for more", order.Endpoint,
                    model, number, open.Start, open.Samples.Count, DriftWindow.MinSamples);
            foreach (var window in closed)
            {
                var fact = new DriftMeasured(FactIds.For(Guid.Empty, $"drift/{order.Endpoint}/{model}/{number}/{window.Start:O}"), order.Endpoint, model, number,
                    window.Start, window.End, window.Samples.Count, window.Measure(measured.References, policy));
                await new MessageBus(wolverine).SendAsync(fact);
                log.LogInformation("{Endpoint} {Model} v{Version}: drift measured over {Samples} samples from {Start} ({Features} features)", order.Endpoint,
                    model, number, fact.Samples, fact.WindowStart, fact.Features.Count);
            }
        }
    }

    /// <summary>The replica's samples after its cursor (from the start when its epoch changed: it restarted).</summary>
    private async Task<List<DriftSample>> ReadAsync(string endpoint, Uri replica, Dictionary<Uri, (string Epoch, long Next)> cursors, CancellationToken ct)
    {
        var samples = new List<DriftSample>();
        for (var page = 0; page < MaxPagesPerPoll; page++)
        {
            var (epoch, after) = cursors.GetValueOrDefault(replica, ("", 0));
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(replica, $"samples?after={after}&limit={PageSize}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", keys.For(endpoint));
            using var response = await Http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
            {
                log.LogWarning("{Endpoint}'s replica {Replica} answered {Status} for its samples", endpoint, replica, (int)response.StatusCode);
                break;
            }
            var read = await response.Content.ReadFromJsonAsync<DriftSamplePage>(Json, ct) ?? throw new InvalidDataException("an empty samples page");
            if (read.Epoch != epoch && after > 0)
            {
                log.LogInformation("{Endpoint}'s replica {Replica} restarted (a new epoch): reading its samples from the start", endpoint, replica);
                cursors[replica] = (read.Epoch, 0);
                continue;
            }
            cursors[replica] = (read.Epoch, read.Next);
            samples.AddRange(read.Samples);
            if (read.Samples.Count < PageSize) break;
        }
        return samples;
    }

    /// <summary>The version's baseline through the artifact store (its sha256 verified, its size bounded), parsed; none (logged)
    /// when it cannot be read — a baseline is content-addressed, so it is not tried again until another one is served.</summary>
    private async Task<IReadOnlyList<FeatureReference>> ReferencesAsync(string endpoint, ServedVersion version, CancellationToken ct)
    {
        var baseline = version.Baseline!;
        try
        {
            if (baseline.Size > DriftBaseline.MaxBytes) throw new InvalidDataException($"the baseline is larger than {DriftBaseline.MaxBytes >> 20} MiB");
            var path = await store.LocalizeAsync(baseline.Uri, baseline.Sha256, ct);
            if (new FileInfo(path).Length > DriftBaseline.MaxBytes) throw new InvalidDataException($"the baseline is larger than {DriftBaseline.MaxBytes >> 20} MiB");
            var skipped = new List<string>();
            var references = DriftBaseline.Parse(await File.ReadAllBytesAsync(path, ct), skipped);
            if (skipped.Count > 0)
                log.LogInformation("{Endpoint} {Model} v{Version}: the baseline has no reference for {Skipped}; not measured", endpoint, version.ModelName,
                    version.Version, string.Join(", ", skipped));
            log.LogInformation("Measuring the drift of {Endpoint} {Model} v{Version} on {Features} features", endpoint, version.ModelName, version.Version, references.Count);
            return references;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or DataAccessRefused or ArtifactIntegrityException)
        {
            log.LogWarning("{Endpoint} {Model} v{Version}: its drift baseline cannot be used ({Reason}); its drift is not measured", endpoint, version.ModelName,
                version.Version, e.Message);
            return [];
        }
    }
}
