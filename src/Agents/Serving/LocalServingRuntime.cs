using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Endpoints;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Serving;

/// <summary>
/// The local serving runtime: one model-server process (<c>emo-serve</c>, a replica) per endpoint — it says so through
/// <see cref="MaxReplicasPerEndpoint"/>, and the plan asks for no more — run through the workload runtime under a
/// deterministic name (<see cref="ReplicaName"/>) on a loopback port kept in its labels, beside the revision last applied.
/// The replica converges to its endpoint's desired state by itself (it long-polls the control plane); this class keeps it
/// alive: started on the first work order, checked every <see cref="ServingAgentOptions.SuperviseInterval"/> and
/// restarted on the same port when it died or stopped answering <c>/health/live</c> (backing off when it keeps dying),
/// stopped when the endpoint is deleted (its record stays, marked with the revision of the deletion) — each change
/// reported as a <see cref="ReplicaChangeReport"/> fact. Replicas outlive the agent; a restarted agent re-adopts them
/// on its first check.
/// </summary>
public sealed class LocalServingRuntime(
    IWorkloadRuntime runtime,
    ServingAgentOptions options,
    ReplicaTokens tokens,
    SamplesKeys samplesKeys,
    IWolverineRuntime wolverine,
    TimeProvider time,
    ILogger<LocalServingRuntime> log) : BackgroundService, IServingRuntime
{
    public const string Component = "serving";
    private const string ComponentLabel = "eventmlops.io/component", EndpointLabel = "eventmlops.io/endpoint", PortLabel = "eventmlops.io/port",
        RevisionLabel = "eventmlops.io/revision", DeletedLabel = "eventmlops.io/deleted";

    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private static readonly Regex NotDnsLabel = new("[^a-z0-9-]+", RegexOptions.CultureInvariant);

    private readonly EndpointGates _gates = new();
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

    /// <summary>The endpoint a live replica record serves; null for other jobs and for deleted endpoints' records.</summary>
    public static string? EndpointOf(JobObservation job) =>
        job.Labels?.GetValueOrDefault(ComponentLabel) == Component && !job.Labels.ContainsKey(DeletedLabel) ? job.Labels.GetValueOrDefault(EndpointLabel) : null;

    public string Kind => runtime.Kind;

    public int MaxReplicasPerEndpoint => 1;

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

    public async Task<IReadOnlyList<string>> EndpointsAsync(CancellationToken ct) =>
        [.. (await runtime.ListAsync(ct, Selector)).Select(EndpointOf).OfType<string>().Distinct()];

    public async Task<ObservedEndpoint?> ObserveAsync(string endpoint, CancellationToken ct)
    {
        var job = await runtime.ObserveAsync(ReplicaName(endpoint), ct);
        if (job.Phase == JobPhase.Missing) return null;
        var deleted = job.Labels?.ContainsKey(DeletedLabel) == true;
        IReadOnlyList<RunningReplica> running = !deleted && job.Phase is JobPhase.Running && PortOf(job) is { } port ? [new RunningReplica(Url(port), job.StartedAt)] : [];
        return new ObservedEndpoint(endpoint, RevisionOf(job), deleted, running);
    }

    public async Task ApplyAsync(ApplyEndpoint desired, int replicas, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicas, MaxReplicasPerEndpoint);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        using var gate = await _gates.EnterAsync(desired.Endpoint, ct);
        var job = await runtime.ObserveAsync(ReplicaName(desired.Endpoint), ct);
        // Looked at again under the gate: a newer order (delivered in parallel) may have been applied since the plan.
        if (RevisionOf(job) > desired.Revision) return;
        var revision = new Dictionary<string, string> { [RevisionLabel] = desired.Revision.ToString(CultureInfo.InvariantCulture) };
        if (job.Labels?.ContainsKey(DeletedLabel) == true)
        {
            // Created again after a deletion: the record of the deleted one frees its name.
            await runtime.DeleteAsync(job.Name, ct);
            job = JobObservation.Missing(job.Name);
        }
        switch (job.Phase)
        {
            case JobPhase.Running or JobPhase.Pending when PortOf(job) is not null:
                await runtime.LabelAsync(job.Name, revision, ct);
                break;
            case JobPhase.Missing:
                await StartAsync(desired.Endpoint, ReplicaChange.Started, null, desired.Revision, null, null, ct);
                break;
            default:
                await RestartAsync(desired.Endpoint, job, Died(job), desired.Revision, ct);
                break;
        }
    }

    public async Task DeleteAsync(string endpoint, long revision, string reason, CancellationToken ct)
    {
        using var gate = await _gates.EnterAsync(endpoint, ct);
        var name = ReplicaName(endpoint);
        var job = await runtime.ObserveAsync(name, ct);
        if (job.Phase == JobPhase.Missing || job.Labels?.ContainsKey(DeletedLabel) == true || RevisionOf(job) > revision) return;
        await runtime.CancelAsync(name, ct);
        var at = revision.ToString(CultureInfo.InvariantCulture);
        await runtime.LabelAsync(name, new Dictionary<string, string> { [DeletedLabel] = at, [RevisionLabel] = at }, ct);
        _health.TryRemove(endpoint, out _);
        log.LogInformation("Stopped serving replica {Replica} of {Endpoint}: {Reason}", name, endpoint, reason);
        await ReportAsync(new ReplicaChangeReport(Guid.NewGuid(), endpoint, name, ReplicaChange.Stopped, runtime.Kind,
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

        using var gate = await _gates.EnterAsync(endpoint, ct);
        // Looked at again under the gate: a work order or a deletion may have acted meanwhile.
        var job = await runtime.ObserveAsync(seen.Name, ct);
        if (job.Phase == JobPhase.Missing || job.Labels?.ContainsKey(DeletedLabel) == true
            || (job.Phase == JobPhase.Running && _health.GetValueOrDefault(endpoint)?.Hung(time.GetUtcNow(), options.StartTimeout) != true))
            return;
        var reason = job.Phase == JobPhase.Running ? $"did not answer /health/live {ReplicaHealth.LivenessFailures} times in a row" : Died(job);
        try
        {
            await RestartAsync(endpoint, job, reason, RevisionOf(job), ct);
        }
        catch (ServingUnavailable e)
        {
            // Reported, so that the endpoint does not go on showing a replica that runs; the next check tries again.
            log.LogError("Restarting serving replica {Replica} of {Endpoint} failed: {Reason}", job.Name, endpoint, e.Message);
            await ReportAsync(new ReplicaChangeReport(Guid.NewGuid(), endpoint, job.Name, ReplicaChange.Stopped, runtime.Kind,
                PortOf(job) is { } at ? Url(at).ToString() : null, $"{reason}; restarting it failed: {e.Message}", job.ExitCode));
        }
    }

    private async Task RestartAsync(string endpoint, JobObservation dead, string reason, long revision, CancellationToken ct)
    {
        // Nothing is torn down before the new replica can get its token (after an agent restart, the re-sent order brings the grant).
        if (!tokens.CanIssue(endpoint))
            throw new ServingUnavailable($"no work order for '{endpoint}' is held yet (its grant); the replica is restarted once it arrives");
        await runtime.DeleteAsync(dead.Name, ct);
        _health[endpoint] = (_health.GetValueOrDefault(endpoint) ?? new ReplicaHealth()).Restarted(dead, time.GetUtcNow());
        log.LogWarning("Serving replica {Replica} of {Endpoint} {Reason}; restarting it", dead.Name, endpoint, reason);
        await StartAsync(endpoint, ReplicaChange.Restarted, PortOf(dead), revision, reason, dead.ExitCode, ct);
    }

    /// <summary>Submits the replica (on <paramref name="port"/> when it is still free, else on a free one), waits until it
    /// answers <c>/health/live</c>, and reports the change.</summary>
    private async Task StartAsync(string endpoint, ReplicaChange change, int? port, long revision, string? reason, int? exitCode, CancellationToken ct)
    {
        var server = options.Server ?? throw new ServingUnavailable("no model server is configured on this agent: set Serving:Server (or EMO_SERVE) to emo-serve.dll");
        if (server.Contains('/') && !File.Exists(server))
            throw new ServingUnavailable($"the model server {server} does not exist on this agent");
        var controlPlane = options.ControlPlaneUrl
            ?? throw new ServingUnavailable("the control plane's URL is not configured on this agent (Agents:ControlPlaneUrl): a replica polls its desired state there");
        var name = ReplicaName(endpoint);
        var chosen = LoopbackPort.Choose(port);
        var url = Url(chosen);
        var (command, prefix) = AgentSettings.Command(server, options.Dotnet);
        var spec = new JobSpec(
            name, options.Image, command,
            [.. prefix, $"--urls={url.ToString().TrimEnd('/')}", "--control-plane", controlPlane, "--endpoint", endpoint, .. options.ServerArguments],
            new Dictionary<string, string>(options.ServerEnvironment) { ["EMO_HOME"] = options.EmoHome },
            // A replica reports its observed state with a token of its own, named after it (the actor of its facts), and
            // serves its samples to whoever holds its endpoint's samples key (the drift agent).
            new Dictionary<string, string>
            {
                ["Serving__Token"] = await tokens.IssueAsync(endpoint, name, ct),
                ["Serving__SamplesKey"] = samplesKeys.For(endpoint),
            },
            new JobResources(0, 0, 0),
            new Dictionary<string, string>
            {
                [ComponentLabel] = Component,
                [EndpointLabel] = endpoint,
                [PortLabel] = chosen.ToString(CultureInfo.InvariantCulture),
                [RevisionLabel] = revision.ToString(CultureInfo.InvariantCulture),
            },
            options.Placement);
        var submitted = await runtime.SubmitAsync(options.Stream?.On(spec) ?? spec, ct);
        if (PortOf(submitted) is { } taken && taken != chosen) return; // another agent's order started it just now
        _health[endpoint] = (_health.GetValueOrDefault(endpoint) ?? new ReplicaHealth()) with { FailedProbes = 0, LastStart = time.GetUtcNow() };
        await WaitLiveAsync(name, url, ct);
        log.LogInformation("Serving replica {Replica} of {Endpoint} {Change} at {Url}", name, endpoint, change.ToString().ToLowerInvariant(), url);
        await ReportAsync(new ReplicaChangeReport(Guid.NewGuid(), endpoint, name, change, runtime.Kind, url.ToString(), reason, exitCode));
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

    private static long RevisionOf(JobObservation job) =>
        long.TryParse(job.Labels?.GetValueOrDefault(RevisionLabel), NumberStyles.None, CultureInfo.InvariantCulture, out var revision) ? revision : 0;

    private static int? PortOf(JobObservation job) =>
        int.TryParse(job.Labels?.GetValueOrDefault(PortLabel), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : null;

    private static Uri Url(int port) => new($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
}
