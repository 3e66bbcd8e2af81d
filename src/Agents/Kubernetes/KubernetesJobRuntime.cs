using System.Globalization;
using System.Net;
using System.Text;
using EventMlOps.Agents.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>
/// Jobs as Kubernetes <c>batch/v1</c> Jobs in the agents' namespace (see <see cref="KubeObjects.TrainingJob"/>). Creating
/// the Job claims its name (a second submission finds it and starts nothing); its Secret follows, owned by it, and is
/// applied again by any later submission (a crash in between heals). Observations come from the watched caches, a log from
/// the newest pod. Cancelling marks the Job and deletes its pods with the grace period (no retries: the Job fails); a job
/// not submitted yet is claimed by a suspended, marked Job that never runs. Deleting removes the Job with foreground
/// propagation (its pods and Secret first).
/// </summary>
public sealed class KubernetesJobRuntime(KubeCluster cluster, int logTailLines = 20, TimeProvider? time = null) : IWorkloadRuntime
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public string Kind => "kubernetes";

    private IKubernetes Client => cluster.Client;

    private string Ns => cluster.Namespace;

    public async Task<JobObservation> SubmitAsync(JobSpec spec, CancellationToken ct)
    {
        var (job, secret) = KubeObjects.TrainingJob(spec, cluster.Options);
        // With a Secret, the Job is created suspended and resumed once its Secret exists: no pod ever waits for it.
        if (secret is not null) job.Spec.Suspend = true;
        V1Job held;
        try
        {
            held = await Client.BatchV1.CreateNamespacedJobAsync(job, Ns, fieldManager: KubernetesOptions.FieldManager, cancellationToken: ct);
            cluster.Jobs.Remember(held);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            held = await Client.BatchV1.ReadNamespacedJobAsync(spec.Name, Ns, cancellationToken: ct);
        }
        // Also for a Job found there: a submission that stopped between the two (or whose Secret write failed) is healed.
        if (secret is not null && held.Metadata.Annotations?.ContainsKey(PodFacts.CancelledAnnotation) != true)
        {
            await Client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(KubeObjects.OwnedBy(secret, held), V1Patch.PatchType.ApplyPatch),
                spec.Name, Ns, fieldManager: KubernetesOptions.FieldManager, force: true, cancellationToken: ct);
            if (held.Spec?.Suspend == true)
                cluster.Jobs.Remember(await Client.BatchV1.PatchNamespacedJobAsync(KubeObjects.MergePatch(new { spec = new { suspend = false } }), spec.Name, Ns,
                    fieldManager: KubernetesOptions.FieldManager, cancellationToken: ct));
        }
        return await ObserveAsync(spec.Name, ct);
    }

    public async Task<JobObservation> ObserveAsync(string name, CancellationToken ct)
    {
        var job = await JobAsync(name, ct);
        var observed = PodFacts.Observe(name, job, await cluster.PodsOfAsync(name, ct));
        // The log's tail explains a failure or a crash loop; read only then (pods/log is not for every poll).
        return observed.Phase == JobPhase.Failed || observed.Waiting?.StartsWith("CrashLoopBackOff", StringComparison.Ordinal) == true
            ? observed with { LogTail = await TailAsync(name, ct) }
            : observed;
    }

    public async Task CancelAsync(string name, CancellationToken ct)
    {
        var now = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var mark = Annotations(new Dictionary<string, string> { [PodFacts.CancelledAnnotation] = now });
        if (await JobAsync(name, ct) is null)
        {
            // Not submitted yet: a suspended Job claims the name, marked cancelled; it never starts a pod.
            var (tombstone, _) = KubeObjects.TrainingJob(
                new JobSpec(name, "none", "none", [], new Dictionary<string, string>(), new Dictionary<string, string>(), new JobResources(0, 0, 0),
                    new Dictionary<string, string>()), cluster.Options);
            tombstone.Spec.Suspend = true;
            tombstone.Metadata.Annotations = new Dictionary<string, string> { [PodFacts.CancelledAnnotation] = now };
            try
            {
                cluster.Jobs.Remember(await Client.BatchV1.CreateNamespacedJobAsync(tombstone, Ns, fieldManager: KubernetesOptions.FieldManager, cancellationToken: ct));
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict) { } // submitted meanwhile: cancel that one
        }
        try
        {
            cluster.Jobs.Remember(await Client.BatchV1.PatchNamespacedJobAsync(KubeObjects.MergePatch(mark), name, Ns,
                fieldManager: KubernetesOptions.FieldManager, cancellationToken: ct));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return; }
        foreach (var pod in await cluster.PodsOfAsync(name, ct))
            await DeletePodAsync(pod.Metadata.Name, ct);
    }

    public async Task DeleteAsync(string name, CancellationToken ct)
    {
        try
        {
            await Client.BatchV1.DeleteNamespacedJobAsync(name, Ns,
                new V1DeleteOptions { PropagationPolicy = "Foreground", GracePeriodSeconds = (long)cluster.Options.CancelGrace.TotalSeconds }, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
        cluster.Jobs.Forget(name);
    }

    /// <summary>Pod logs have no byte offsets: the log is read from its start up to <c>offset + maxBytes</c> and cut.</summary>
    public async Task<LogChunk> ReadLogAsync(string name, long offset, int maxBytes, CancellationToken ct)
    {
        if (await NewestPodAsync(name, ct) is not { } pod) return new LogChunk([], 0);
        var bytes = await LogAsync(pod, tailLines: null, limitBytes: (int)Math.Min(int.MaxValue, offset + maxBytes), previous: false, ct);
        if (bytes.Length < offset) offset = 0; // a new pod's log, or cut shorter: start over
        var chunk = bytes.AsSpan((int)offset, (int)Math.Min(maxBytes, bytes.Length - offset)).ToArray();
        return new LogChunk(chunk, offset + chunk.Length);
    }

    public string? LocalFolder(string name) => null;

    public async Task LabelAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        try
        {
            cluster.Jobs.Remember(await Client.BatchV1.PatchNamespacedJobAsync(KubeObjects.MergePatch(Annotations(labels)), name, Ns,
                fieldManager: KubernetesOptions.FieldManager, cancellationToken: ct));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
    }

    public async Task<IReadOnlyList<JobObservation>> ListAsync(CancellationToken ct, IReadOnlyDictionary<string, string>? selector = null)
    {
        var pods = await cluster.Pods.AllAsync(ct);
        return (await cluster.Jobs.AllAsync(ct))
            .Where(j => KubeObjects.Label(j.Metadata, KubeObjects.ComponentLabel) == KubeObjects.Training)
            .Where(j => selector is null || selector.All(s => PodFacts.LabelsOf(j.Metadata).GetValueOrDefault(s.Key) == s.Value))
            .Select(j => PodFacts.Observe(j.Metadata.Name, j,
                pods.Where(p => KubeObjects.Label(p.Metadata, KubeObjects.InstanceLabel) == j.Metadata.Name).ToList()))
            .OrderBy(j => j.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>From the cache, and from the API server when the cache has not seen it (yet): a missing job is reported
    /// as the run's failure, so it must be missing for sure.</summary>
    private async Task<V1Job?> JobAsync(string name, CancellationToken ct)
    {
        if (await cluster.Jobs.GetAsync(JobSpec.ValidName(name), ct) is { } cached) return cached;
        try
        {
            var job = await Client.BatchV1.ReadNamespacedJobAsync(name, Ns, cancellationToken: ct);
            cluster.Jobs.Remember(job);
            return job;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<V1Pod?> NewestPodAsync(string name, CancellationToken ct) =>
        (await cluster.PodsOfAsync(name, ct)).OrderByDescending(p => p.Metadata.CreationTimestamp ?? DateTime.MinValue).FirstOrDefault();

    /// <summary>The last lines of the newest pod's log — of its previous container when it crashed and restarted.</summary>
    private async Task<IReadOnlyList<string>?> TailAsync(string name, CancellationToken ct)
    {
        if (await NewestPodAsync(name, ct) is not { } pod) return null;
        var restarted = pod.Status?.ContainerStatuses?.Any(c => c.RestartCount > 0 && c.State?.Running is null) == true;
        var bytes = await LogAsync(pod, logTailLines, limitBytes: 64 * 1024, previous: restarted, ct);
        return Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private async Task<byte[]> LogAsync(V1Pod pod, int? tailLines, int limitBytes, bool previous, CancellationToken ct)
    {
        try
        {
            await using var log = await Client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, Ns, container: KubeObjects.Container,
                limitBytes: limitBytes, previous: previous, tailLines: tailLines, cancellationToken: ct);
            using var copy = new MemoryStream();
            await log.CopyToAsync(copy, ct);
            return copy.ToArray();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            return []; // no such pod, or its container has not started (yet)
        }
    }

    private async Task DeletePodAsync(string pod, CancellationToken ct)
    {
        try
        {
            await Client.CoreV1.DeleteNamespacedPodAsync(pod, Ns,
                new V1DeleteOptions { GracePeriodSeconds = (long)cluster.Options.CancelGrace.TotalSeconds }, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
    }

    private static Dictionary<string, object?> Annotations(IReadOnlyDictionary<string, string> values) =>
        new() { ["metadata"] = new Dictionary<string, object?> { ["annotations"] = values } };
}
