using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Serving;

/// <summary>A replica that runs: where it answers, and since when (a restart makes it another replica).</summary>
public sealed record RunningReplica(Uri Url, DateTimeOffset? StartedAt);

/// <summary>No replica could be started for an endpoint (no model server configured, or it never answered).</summary>
public sealed class ServingUnavailable(string reason) : Exception(reason);

/// <summary>
/// The local serving runtime: one model-server process (<c>emo-serve</c>, a replica) per endpoint, run through the
/// workload runtime under a deterministic name (<see cref="ReplicaName"/>) on a loopback port kept in its labels. The
/// replica converges to its endpoint's desired state by itself (it long-polls the control plane); this class only keeps
/// it alive: started on the first work order, checked every <see cref="ServingAgentOptions.SuperviseInterval"/> and
/// restarted on the same port when it died or stopped answering <c>/health/live</c> (backing off when it keeps dying),
/// stopped when the endpoint is deleted — each change reported as a <see cref="ServingReplicaChanged"/> fact. Replicas
/// outlive the agent; a restarted agent re-adopts them on its first check.
/// </summary>
public sealed class ServingReplicas(
    IWorkloadRuntime runtime,
    ServingAgentOptions options,
    ReplicaTokens tokens,
    IWolverineRuntime wolverine,
    TimeProvider time,
    ILogger<ServingReplicas> log) : BackgroundService
{
    public const string Component = "serving";
    private const string ComponentLabel = "eventmlops.io/component", EndpointLabel = "eventmlops.io/endpoint", PortLabel = "eventmlops.io/port";

    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private static readonly Regex NotDnsLabel = new("[^a-z0-9-]+", RegexOptions.CultureInvariant);

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new();
    private readonly ConcurrentDictionary<string, ReplicaHealth> _health = new();

    /// <summary>The replica's name: <c>serve-{endpoint}</c>, made a DNS label (with a short hash of the endpoint's name
    /// when that had to change it, so two endpoints never share one).</summary>
    public static string ReplicaName(string endpoint)
    {
        var label = NotDnsLabel.Replace(endpoint.ToLowerInvariant(), "-").Trim('-');
        var name = "serve-" + label;
        if (label == endpoint && name.Length <= 63) return name;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(endpoint)))[..8];
        return $"{name[..Math.Min(name.Length, 54)].TrimEnd('-')}-{hash}";
    }

    /// <summary>The labels every replica carries: what to list to find them all.</summary>
    public static readonly IReadOnlyDictionary<string, string> Selector = new Dictionary<string, string> { [ComponentLabel] = Component };

    public static string? EndpointOf(JobObservation job) =>
        job.Labels?.GetValueOrDefault(ComponentLabel) == Component ? job.Labels.GetValueOrDefault(EndpointLabel) : null;

    /// <summary>Stops every running replica the runtime holds but keeps their records, so that the next agent on it
    /// restarts them for their endpoints (<c>emo down</c>, then <c>emo up</c>); returns the names of those stopped.</summary>
    public static async Task<IReadOnlyList<string>> StopAllAsync(IWorkloadRuntime runtime, CancellationToken ct)
    {
        var stopped = new List<string>();
        foreach (var job in await runtime.ListAsync(ct, Selector))
            if (EndpointOf(job) is not null && job.Phase is JobPhase.Running or JobPhase.Pending)
            {
                await runtime.CancelAsync(job.Name, ct);
                stopped.Add(job.Name);
            }
        return stopped;
    }

    /// <summary>The endpoint's replica, when it has one that runs.</summary>
    public async Task<RunningReplica?> RunningAsync(string endpoint, CancellationToken ct)
    {
        var job = await runtime.ObserveAsync(ReplicaName(endpoint), ct);
        return job.Phase is JobPhase.Running && PortOf(job) is { } port ? new RunningReplica(Url(port), job.StartedAt) : null;
    }

    /// <summary>Makes sure the endpoint has a running replica: starts one when it has none, restarts a dead one.</summary>
    /// <exception cref="ServingUnavailable">No replica could be started.</exception>
    public async Task<Uri> EnsureAsync(string endpoint, CancellationToken ct)
    {
        using var gate = await GateAsync(endpoint, ct);
        var job = await runtime.ObserveAsync(ReplicaName(endpoint), ct);
        return job.Phase switch
        {
            JobPhase.Running or JobPhase.Pending when PortOf(job) is { } port => Url(port),
            JobPhase.Missing => await StartAsync(endpoint, ReplicaChange.Started, null, null, null, ct),
            _ => await RestartAsync(endpoint, job, Died(job), ct),
        };
    }

    /// <summary>Stops the endpoint's replica for good (the endpoint was deleted) and reports it.</summary>
    public async Task StopReplicaAsync(string endpoint, string reason, CancellationToken ct)
    {
        using var gate = await GateAsync(endpoint, ct);
        var name = ReplicaName(endpoint);
        var job = await runtime.ObserveAsync(name, ct);
        if (job.Phase == JobPhase.Missing) return;
        await runtime.DeleteAsync(name, ct);
        _health.TryRemove(endpoint, out _);
        log.LogInformation("Stopped serving replica {Replica} of {Endpoint}: {Reason}", name, endpoint, reason);
        await ReportAsync(new ServingReplicaChanged(Guid.NewGuid(), endpoint, name, ReplicaChange.Stopped, runtime.Kind,
            PortOf(job) is { } port ? Url(port).ToString() : null, reason));
    }

    /// <summary>Checks every replica the runtime knows, until the agent stops; the first pass re-adopts what an earlier
    /// agent left running.</summary>
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var first = true;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                foreach (var job in await runtime.ListAsync(ct, Selector))
                    if (EndpointOf(job) is { } endpoint)
                        await SuperviseAsync(endpoint, job, first, ct);
                first = false;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogError(e, "Checking the serving replicas failed; checking again in {Interval}", options.SuperviseInterval);
            }
            try { await Task.Delay(options.SuperviseInterval, time, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task SuperviseAsync(string endpoint, JobObservation seen, bool adopting, CancellationToken ct)
    {
        var health = _health.GetOrAdd(endpoint, _ => new ReplicaHealth(LastStart: seen.StartedAt ?? time.GetUtcNow()));
        var port = PortOf(seen);
        if (adopting && seen.Phase == JobPhase.Running && port is not null)
            log.LogInformation("Re-adopting serving replica {Replica} of {Endpoint} at {Url}", seen.Name, endpoint, Url(port.Value));
        var answered = seen.Phase == JobPhase.Running && port is { } p && await LiveAsync(Url(p), ct);
        var (next, restart) = health.Check(seen, answered, time.GetUtcNow(), options.StartTimeout);
        _health[endpoint] = next;
        if (!restart) return;

        using var gate = await GateAsync(endpoint, ct);
        // Looked at again under the gate: a work order or a deletion may have acted meanwhile.
        var job = await runtime.ObserveAsync(seen.Name, ct);
        if (job.Phase == JobPhase.Missing || (job.Phase == JobPhase.Running && _health.GetValueOrDefault(endpoint)?.Hung(time.GetUtcNow(), options.StartTimeout) != true))
            return;
        var reason = job.Phase == JobPhase.Running ? $"did not answer /health/live {ReplicaHealth.LivenessFailures} times in a row" : Died(job);
        try
        {
            await RestartAsync(endpoint, job, reason, ct);
        }
        catch (ServingUnavailable e)
        {
            // Reported, so that the endpoint does not go on showing a replica that runs; the next check tries again.
            log.LogError("Restarting serving replica {Replica} of {Endpoint} failed: {Reason}", job.Name, endpoint, e.Message);
            await ReportAsync(new ServingReplicaChanged(Guid.NewGuid(), endpoint, job.Name, ReplicaChange.Stopped, runtime.Kind,
                PortOf(job) is { } at ? Url(at).ToString() : null, $"{reason}; restarting it failed: {e.Message}", job.ExitCode));
        }
    }

    private async Task<Uri> RestartAsync(string endpoint, JobObservation dead, string reason, CancellationToken ct)
    {
        // Nothing is torn down before the new replica can get its token (after an agent restart, the re-sent order brings the grant).
        if (!tokens.CanIssue(endpoint))
            throw new ServingUnavailable($"no work order for '{endpoint}' is held yet (its grant); the replica is restarted once it arrives");
        await runtime.DeleteAsync(dead.Name, ct);
        _health[endpoint] = (_health.GetValueOrDefault(endpoint) ?? new ReplicaHealth()).Restarted(dead, time.GetUtcNow());
        log.LogWarning("Serving replica {Replica} of {Endpoint} {Reason}; restarting it", dead.Name, endpoint, reason);
        return await StartAsync(endpoint, ReplicaChange.Restarted, PortOf(dead), reason, dead.ExitCode, ct);
    }

    /// <summary>Submits the replica (on <paramref name="port"/> when it is still free, else on a free one), waits until it
    /// answers <c>/health/live</c>, and reports the change.</summary>
    private async Task<Uri> StartAsync(string endpoint, ReplicaChange change, int? port, string? reason, int? exitCode, CancellationToken ct)
    {
        var server = options.Server ?? throw new ServingUnavailable("no model server is configured on this agent: set Serving:Server (or EMO_SERVE) to emo-serve.dll");
        if (server.Contains('/') && !File.Exists(server))
            throw new ServingUnavailable($"the model server {server} does not exist on this agent");
        var controlPlane = options.ControlPlaneUrl
            ?? throw new ServingUnavailable("the control plane's URL is not configured on this agent (Agents:ControlPlaneUrl): a replica polls its desired state there");
        var name = ReplicaName(endpoint);
        var chosen = LoopbackPort.Choose(port);
        var url = Url(chosen);
        var folder = Path.Combine(options.Home, name);
        var (command, prefix) = AgentSettings.Command(server, options.Dotnet);
        var spec = new JobSpec(
            name, command,
            [.. prefix, $"--urls={url.ToString().TrimEnd('/')}", "--control-plane", controlPlane, "--endpoint", endpoint, .. options.ServerArguments],
            new Dictionary<string, string>(options.ServerEnvironment) { ["EMO_HOME"] = options.EmoHome },
            // A replica reports its observed state with a token of its own, named after it (the actor of its facts).
            new Dictionary<string, string> { ["Serving__Token"] = await tokens.IssueAsync(endpoint, name, ct) },
            folder, new JobResources(0, 0, 0), Path.Combine(folder, "serve.log"),
            new Dictionary<string, string>
            {
                [ComponentLabel] = Component,
                [EndpointLabel] = endpoint,
                [PortLabel] = chosen.ToString(CultureInfo.InvariantCulture),
            });
        var submitted = await runtime.SubmitAsync(spec, ct);
        if (PortOf(submitted) is { } taken && taken != chosen) return Url(taken); // another agent's order started it just now
        _health[endpoint] = (_health.GetValueOrDefault(endpoint) ?? new ReplicaHealth()) with { FailedProbes = 0, LastStart = time.GetUtcNow() };
        await WaitLiveAsync(name, url, ct);
        log.LogInformation("Serving replica {Replica} of {Endpoint} {Change} at {Url}", name, endpoint, change.ToString().ToLowerInvariant(), url);
        await ReportAsync(new ServingReplicaChanged(Guid.NewGuid(), endpoint, name, change, runtime.Kind, url.ToString(), reason, exitCode));
        return url;
    }

    private async Task WaitLiveAsync(string name, Uri url, CancellationToken ct)
    {
        for (var deadline = time.GetUtcNow() + options.StartTimeout; ; await Task.Delay(TimeSpan.FromMilliseconds(100), time, ct))
        {
            var live = await LiveAsync(url, ct);
            // Observed after the probe: an answer while the replica already died came from some other process on the port.
            var job = await runtime.ObserveAsync(name, ct);
            if (live && job.Phase == JobPhase.Running) return;
            if (job.IsFinished || job.Phase == JobPhase.Missing)
                throw new ServingUnavailable($"the serving replica {name} exited during startup ({Died(job)})");
            if (time.GetUtcNow() > deadline)
                throw new ServingUnavailable($"the serving replica {name} did not answer {url}health/live within {options.StartTimeout.TotalSeconds:0} s"
                    + Tail(job));
        }
    }

    private static async Task<bool> LiveAsync(Uri url, CancellationToken ct)
    {
        try
        {
            using var response = await Probe.GetAsync(new Uri(url, "health/live"), ct);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private Task ReportAsync(object fact) => new MessageBus(wolverine).SendAsync(fact).AsTask();

    private async Task<IDisposable> GateAsync(string endpoint, CancellationToken ct)
    {
        var gate = _gates.GetOrAdd(endpoint, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Release(gate);
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }

    private static string Died(JobObservation job) => job switch
    {
        // `emo down` (or a cancel) stopped it while no agent watched: nothing went wrong with it.
        { Cancelled: true } => "was stopped while its agent was away (emo down)",
        { ExitCode: 0 } => "exited by itself with code 0",
        { ExitCode: { } code } => $"exited with code {code}" + Tail(job),
        _ => (job.Message ?? "is gone") + Tail(job),
    };

    /// <summary>The replica's last log line, as its message when it is a JSON log event (the server logs those).</summary>
    private static string Tail(JobObservation job)
    {
        if (job.LogTail is not { Count: > 0 } tail) return "";
        var line = tail[^1];
        try
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.TryGetProperty("@m", out var message)) line = message.GetString() ?? line;
        }
        catch (JsonException)
        {
        }
        return $"; last log line: {line[..Math.Min(line.Length, 300)]}";
    }

    private static int? PortOf(JobObservation job) =>
        int.TryParse(job.Labels?.GetValueOrDefault(PortLabel), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : null;

    private static Uri Url(int port) => new($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
}
