using EventMlOps.Agents.Hosting;
using System.Globalization;
using EventMlOps.Agents.Runtime;
using k8s.Models;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>What Jobs and pods say, in the runtime-neutral words agents use — pure, so that every reason a cluster gives
/// is tested without one.</summary>
public static class PodFacts
{
    public const string CancelledAnnotation = "eventmlops.io/cancelled";
    private const int MaxReason = 500;

    /// <summary>Why a pod makes no progress, in plain words: it fits no node, its image cannot be pulled, it keeps crashing,
    /// it was evicted; null while it starts or runs normally.</summary>
    public static string? Waiting(V1Pod pod)
    {
        if (pod.Status is not { } status) return null;
        if (status.Reason == "Evicted") return Words("Evicted", status.Message);
        if (status.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled") is { Status: "False" } scheduled)
            return Words(scheduled.Reason ?? "Unschedulable", scheduled.Message);
        foreach (var container in status.ContainerStatuses ?? [])
        {
            if (container.State?.Waiting is not { Reason: { } reason } waiting || reason is "ContainerCreating" or "PodInitializing") continue;
            var last = container.LastState?.Terminated;
            return reason == "CrashLoopBackOff" && last is not null
                ? Words(reason, $"restarted {container.RestartCount} times, last exit code {last.ExitCode}" + (last.Reason is { } why ? $" ({why})" : ""))
                : Words(reason, waiting.Message);
        }
        return null;
    }

    /// <summary>A training Job as a job observation: its phase from the Job's conditions, exit code, reason and start from
    /// its (newest) pod, the labels it was given (and those kept as annotations), whether it was cancelled.</summary>
    public static JobObservation Observe(string name, V1Job? job, IReadOnlyCollection<V1Pod> pods)
    {
        if (job is null) return JobObservation.Missing(name);
        var pod = pods.OrderByDescending(p => p.Metadata.CreationTimestamp ?? DateTime.MinValue).FirstOrDefault();
        var terminated = pod?.Status?.ContainerStatuses?.Select(c => c.State?.Terminated).FirstOrDefault(t => t is not null);
        var cancelled = job.Metadata.Annotations?.ContainsKey(CancelledAnnotation) == true;
        var conditions = job.Status?.Conditions ?? [];
        var complete = conditions.FirstOrDefault(c => c.Type == "Complete" && c.Status == "True");
        var failed = conditions.FirstOrDefault(c => c.Type == "Failed" && c.Status == "True");
        var observed = new JobObservation(name, JobPhase.Pending,
            ExitCode: terminated?.ExitCode,
            StartedAt: At(job.Status?.StartTime),
            Cancelled: cancelled,
            Labels: LabelsOf(job.Metadata));
        if (complete is not null)
            return observed with { Phase = JobPhase.Succeeded, FinishedAt = At(job.Status?.CompletionTime ?? complete.LastTransitionTime) };
        if (failed is not null)
            return observed with
            {
                Phase = JobPhase.Failed,
                FinishedAt = At(failed.LastTransitionTime),
                Message = cancelled ? "cancelled" : Failure(failed, terminated, pod),
            };
        if (cancelled && job.Spec?.Suspend == true && (job.Status?.Active ?? 0) == 0)
            return observed with { Phase = JobPhase.Failed, Message = "cancelled before it started" };
        var running = pod?.Status?.Phase == "Running";
        return observed with
        {
            Phase = running ? JobPhase.Running : JobPhase.Pending,
            StartedAt = running ? observed.StartedAt : null,
            Waiting = pod is null ? null : Waiting(pod),
        };
    }

    /// <summary>Labels, and the job's own labels that live as annotations (not valid label values, or set after the fact).</summary>
    public static Dictionary<string, string> LabelsOf(V1ObjectMeta metadata)
    {
        var labels = new Dictionary<string, string>(metadata.Labels ?? new Dictionary<string, string>());
        foreach (var (key, value) in metadata.Annotations ?? new Dictionary<string, string>())
            if (key.StartsWith("eventmlops.io/", StringComparison.Ordinal)) labels[key] = value;
        return labels;
    }

    private static string Failure(V1JobCondition failed, V1ContainerStateTerminated? terminated, V1Pod? pod)
    {
        if (pod?.Status?.Reason == "Evicted") return Words("Evicted", pod.Status.Message)!;
        if (terminated?.Reason is "OOMKilled") return "OOMKilled: the trainer used more memory than its limit";
        if (failed.Reason == "DeadlineExceeded") return Words(failed.Reason, failed.Message)!;
        return terminated is not null
            ? $"exited with code {terminated.ExitCode.ToString(CultureInfo.InvariantCulture)}" + (terminated.Reason is { } r and not "Error" ? $" ({r})" : "")
            : Words(failed.Reason ?? "Failed", failed.Message)!;
    }

    private static string? Words(string reason, string? message) =>
        Plain(string.IsNullOrWhiteSpace(message) ? reason : $"{reason}: {message.Trim()}");

    /// <summary>What a cluster says, as a fact's one line (<see cref="FactText"/>), at most <see cref="MaxReason"/> long.</summary>
    public static string Plain(string text) => FactText.OneLine(text, MaxReason) ?? "";

    private static DateTimeOffset? At(DateTime? time) =>
        time is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null;
}
