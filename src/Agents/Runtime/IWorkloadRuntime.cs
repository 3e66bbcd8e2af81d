using System.Text.RegularExpressions;

namespace EventMlOps.Agents.Runtime;

/// <summary>Where and how a workload runs — a batch job (training) or a long-running server (an endpoint's serving
/// replica): local child processes today, Kubernetes Jobs (with <c>nvidia.com/gpu</c> limits) and Deployments later. Agents act and observe through it; they never see processes or pods. Every call is idempotent and
/// keyed by the job's deterministic name, so an agent that restarts finds its jobs again with <see cref="ListAsync"/>.</summary>
public interface IWorkloadRuntime
{
    /// <summary>What is reported as the run's runtime (<c>local</c>, <c>kubernetes</c>).</summary>
    string Kind { get; }

    /// <summary>Starts the job unless one with the same name exists (then nothing is started); returns what is there now.</summary>
    Task<JobObservation> SubmitAsync(JobSpec spec, CancellationToken ct);

    /// <summary>The job's phase, exit code, times and the tail of its log; <see cref="JobPhase.Missing"/> when unknown.</summary>
    Task<JobObservation> ObserveAsync(string name, CancellationToken ct);

    /// <summary>Stops the job and everything it started (politely, then forcibly after a grace period); a no-op for a
    /// missing or finished job. A cancelled job is observed with <see cref="JobObservation.Cancelled"/> set (and, once it
    /// ended, as <see cref="JobPhase.Failed"/> — unless the command still exited 0 on its own).</summary>
    Task CancelAsync(string name, CancellationToken ct);

    /// <summary>Stops the job like <see cref="CancelAsync"/> and forgets it, so that its name is free for a new job (a
    /// serving process restarted after it died, or stopped for good); its log stays. A no-op for a missing job.</summary>
    Task DeleteAsync(string name, CancellationToken ct);

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
/// <param name="Environment">Plain settings, recorded with the job.</param>
/// <param name="Secrets">Passed to the job like <paramref name="Environment"/> but never recorded or logged
/// (a Kubernetes runtime puts them in a Secret).</param>
/// <param name="LogPath">Where the job's combined stdout/stderr ends up on the agent's machine.</param>
/// <param name="Labels">Identify the job to its owner (e.g. <c>eventmlops.io/run-id</c>); returned by observations.</param>
public sealed record JobSpec(
    string Name,
    string Command,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyDictionary<string, string> Secrets,
    string WorkingDirectory,
    JobResources Resources,
    string LogPath,
    IReadOnlyDictionary<string, string> Labels)
{
    private static readonly Regex DnsLabel = new("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant);

    public static string ValidName(string name) => DnsLabel.IsMatch(name)
        ? name
        : throw new ArgumentException($"job name '{name}' is not a DNS label (lower-case letters, digits and '-', at most 63)", nameof(name));
}

public sealed record JobResources(int Cpus, int MemoryMb, int Gpus);

public enum JobPhase { Pending, Running, Succeeded, Failed, Missing }

/// <param name="ExitCode">Known once the job exited by itself (or by a signal: 128 + n); null while it runs and when
/// its process vanished without leaving one.</param>
/// <param name="Message">Why the phase is what it is, when that is not obvious (e.g. cancelled, process gone).</param>
public sealed record JobObservation(
    string Name,
    JobPhase Phase,
    int? ExitCode = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? FinishedAt = null,
    string? Message = null,
    bool Cancelled = false,
    IReadOnlyList<string>? LogTail = null,
    IReadOnlyDictionary<string, string>? Labels = null)
{
    public bool IsFinished => Phase is JobPhase.Succeeded or JobPhase.Failed;

    public static JobObservation Missing(string name) => new(name, JobPhase.Missing, Message: "no such job");
}
