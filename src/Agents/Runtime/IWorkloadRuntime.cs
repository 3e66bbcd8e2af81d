using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Runtime;

/// <summary>Where and how a workload runs — a batch job (training) or a long-running server (an endpoint's serving
/// replica): local child processes today, Kubernetes Jobs (with <c>nvidia.com/gpu</c> limits) and Deployments later.
/// Agents act and observe through it, and read a job's log through it; they never see processes, pods or the job's
/// disk (its working folder and log file are the runtime's own). Every call is idempotent and keyed by the job's
/// deterministic name, so an agent that restarts — on this machine or another — finds its jobs again with
/// <see cref="ListAsync"/>, and what it must remember of them in their labels (<see cref="LabelAsync"/>).</summary>
public interface IWorkloadRuntime
{
    /// <summary>What is reported as the run's runtime (<c>local</c>, <c>kubernetes</c>).</summary>
    string Kind { get; }

    /// <summary>Starts the job unless one with the same name exists (then nothing is started); returns what is there now.</summary>
    Task<JobObservation> SubmitAsync(JobSpec spec, CancellationToken ct);

    /// <summary>The job's phase, exit code, times and the tail of its log; <see cref="JobPhase.Missing"/> when unknown.</summary>
    Task<JobObservation> ObserveAsync(string name, CancellationToken ct);

    /// <summary>Stops the job and everything it started (politely, then forcibly after a grace period); a no-op for a
    /// finished job. A cancelled job is observed with <see cref="JobObservation.Cancelled"/> set (and, once it ended, as
    /// <see cref="JobPhase.Failed"/> — unless the command still exited 0 on its own). A job not submitted yet is recorded
    /// cancelled under its name: a later submission of it starts nothing, whoever makes it, after any restart.</summary>
    Task CancelAsync(string name, CancellationToken ct);

    /// <summary>Stops the job like <see cref="CancelAsync"/> and forgets it, so that its name is free for a new job (a
    /// serving process restarted after it died, or stopped for good); its log stays. A no-op for a missing job.</summary>
    Task DeleteAsync(string name, CancellationToken ct);

    /// <summary>The job's combined stdout/stderr from byte <paramref name="offset"/> on, at most <paramref name="maxBytes"/>;
    /// an empty chunk at its end (or for a missing job). A log that was cut shorter than <paramref name="offset"/> is read
    /// from its start again.</summary>
    Task<LogChunk> ReadLogAsync(string name, long offset, int maxBytes, CancellationToken ct);

    /// <summary>The job's working folder on this machine, from which the outputs it publishes there may be adopted; null
    /// for a runtime whose jobs run elsewhere (they publish into the shared store).</summary>
    string? LocalFolder(string name);

    /// <summary>Sets labels on the job's record (as a Kubernetes annotation patch), over those of the same key: what its
    /// owner must remember across restarts of the agent (e.g. the endpoint revision a replica was last given). A no-op for
    /// a missing job.</summary>
    Task LabelAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct);

    /// <summary>Every job this runtime knows, running or finished (for re-adoption after a restart); with
    /// <paramref name="selector"/>, only those carrying all of its labels (as a Kubernetes label selector), which spares
    /// observing the others.</summary>
    Task<IReadOnlyList<JobObservation>> ListAsync(CancellationToken ct, IReadOnlyDictionary<string, string>? selector = null);
}

/// <param name="Name">Deterministic, DNS-label shaped (e.g. <c>train-{runId:N}</c>): the key of every call.</param>
/// <param name="Image">The container image a cluster runtime runs <paramref name="Command"/> in; the local runtime runs
/// the command on its own machine.</param>
/// <param name="Command">The program, and <paramref name="Args"/> its arguments; relative paths in them are relative to
/// the job's own working folder, which the runtime provides (empty at the start, writable by the job only).</param>
/// <param name="Environment">Plain settings, recorded with the job.</param>
/// <param name="Secrets">Passed to the job like <paramref name="Environment"/> but never recorded or logged
/// (a Kubernetes runtime puts them in a Secret).</param>
/// <param name="Labels">Identify the job to its owner (e.g. <c>eventmlops.io/run-id</c>); returned by observations.</param>
/// <param name="Placement">Where a cluster runtime may schedule it; the local runtime has one place.</param>
public sealed record JobSpec(
    string Name,
    string Image,
    string Command,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyDictionary<string, string> Secrets,
    JobResources Resources,
    IReadOnlyDictionary<string, string> Labels,
    JobPlacement? Placement = null)
{
    private static readonly Regex DnsLabel = new("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\z", RegexOptions.CultureInvariant);

    /// <summary>A DNS label (RFC 1123), as Kubernetes names and namespaces are.</summary>
    public static bool IsDnsLabel(string name) => DnsLabel.IsMatch(name);

    public static string ValidName(string name) => IsDnsLabel(name)
        ? name
        : throw new ArgumentException($"job name '{name}' is not a DNS label (lower-case letters, digits and '-', at most 63)", nameof(name));
}

public sealed record JobResources(int Cpus, int MemoryMb, int Gpus);

/// <summary>Node selection for a cluster runtime: node labels to match, and taints to tolerate (as Kubernetes has them).</summary>
public sealed record JobPlacement(IReadOnlyDictionary<string, string> NodeSelector, IReadOnlyList<JobToleration> Tolerations)
{
    /// <summary>A <c>Training:Placement</c> / <c>Serving:Placement</c> section: <c>NodeSelector:&lt;label&gt;=value</c>,
    /// <c>Tolerations:&lt;n&gt;:Key|Operator|Value|Effect</c>; null when it says nothing.</summary>
    public static JobPlacement? From(IConfigurationSection section)
    {
        var selector = section.GetSection("NodeSelector").GetChildren().Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value!);
        var tolerations = section.GetSection("Tolerations").GetChildren()
            .Select(t => new JobToleration(t["Key"] ?? "", t["Operator"] ?? "Exists", t["Value"], t["Effect"])).ToList();
        return selector.Count == 0 && tolerations.Count == 0 ? null : new JobPlacement(selector, tolerations);
    }
}

public sealed record JobToleration(string Key, string Operator, string? Value, string? Effect);

/// <param name="Offset">Where the next read starts.</param>
public sealed record LogChunk(byte[] Bytes, long Offset);

public enum JobPhase { Pending, Running, Succeeded, Failed, Missing }

/// <param name="ExitCode">Known once the job exited by itself (or by a signal: 128 + n); null while it runs and when
/// its process vanished without leaving one.</param>
/// <param name="Message">Why the phase is what it is, when that is not obvious (e.g. cancelled, process gone).</param>
/// <param name="Waiting">Why a job that has not finished makes no progress, in plain words, when its runtime knows
/// (a cluster's pod reasons: <c>Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu</c>,
/// <c>ImagePullBackOff</c>, <c>CrashLoopBackOff</c>); null while all is well.</param>
public sealed record JobObservation(
    string Name,
    JobPhase Phase,
    int? ExitCode = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? FinishedAt = null,
    string? Message = null,
    bool Cancelled = false,
    IReadOnlyList<string>? LogTail = null,
    IReadOnlyDictionary<string, string>? Labels = null,
    string? Waiting = null)
{
    public bool IsFinished => Phase is JobPhase.Succeeded or JobPhase.Failed;

    public static JobObservation Missing(string name) => new(name, JobPhase.Missing, Message: "no such job");
}
