using EventMlOps.Contracts.Endpoints;
using k8s.Models;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>What the runtime last reported of one pod of an endpoint: whether it started (was ready once), its restarts,
/// why it waits.</summary>
public sealed record ReplicaSeen(bool Started, int Restarts, string? Waiting);

/// <summary>One change to report: <see cref="ReplicaChangeReport"/> without its id, endpoint and runtime.</summary>
public sealed record ReplicaFact(string Pod, ReplicaChange Change, string? Reason, int? ExitCode);

/// <summary>The Deployment controller starts, restarts and replaces an endpoint's pods; the agent reports what changed
/// since its last look, pod by pod — pure, given what it reported before and the pods now. A pod starts once: ready again
/// after a restart (or a failed readiness probe) is the same replica, whose restarts the control plane keeps counting.</summary>
public static class ReplicaFacts
{
    public static (IReadOnlyList<ReplicaFact> Facts, Dictionary<string, ReplicaSeen> Seen) Changes(
        IReadOnlyDictionary<string, ReplicaSeen> before, IEnumerable<V1Pod> pods, string goneReason)
    {
        var facts = new List<ReplicaFact>();
        var seen = new Dictionary<string, ReplicaSeen>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            var name = pod.Metadata.Name;
            var container = pod.Status?.ContainerStatuses?.FirstOrDefault();
            var then = before.GetValueOrDefault(name);
            var ready = Ready(pod);
            var now = new ReplicaSeen(ready || then?.Started == true, container?.RestartCount ?? 0, PodFacts.Waiting(pod));
            if (then is not null && now.Restarts > then.Restarts && container?.LastState?.Terminated is { } died)
                facts.Add(new(name, ReplicaChange.Restarted, PodFacts.Plain(died.Reason is { } why ? $"{why}, exit code {died.ExitCode}" : $"exit code {died.ExitCode}"), died.ExitCode));
            else if (ready && then?.Started != true)
                facts.Add(new(name, ReplicaChange.Started, null, null));
            if (now.Waiting is { } waiting && waiting != then?.Waiting && !waiting.StartsWith("CrashLoopBackOff", StringComparison.Ordinal))
                facts.Add(new(name, ReplicaChange.Waiting, waiting, null));
            seen[name] = now;
        }
        foreach (var gone in before.Keys.Where(p => !seen.ContainsKey(p)))
            facts.Add(new(gone, ReplicaChange.Stopped, goneReason, null));
        return (facts, seen);
    }

    public static bool Ready(V1Pod pod) =>
        pod.Metadata.DeletionTimestamp is null && pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
}
