using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;
using EventMlOps.Contracts.Endpoints;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>
/// Endpoints as Kubernetes Deployments (with a Service, a PodDisruptionBudget and, within bounds that leave room, a
/// HorizontalPodAutoscaler: <see cref="KubeObjects.Endpoint"/>), applied server-side as field manager <c>emo-agents</c>, so
/// that every apply is idempotent. The Deployment carries the endpoint's name and the revision last applied as
/// annotations (not in its pod template: a new revision restarts no pod; replicas converge to it by their long poll).
/// Deleting keeps the Deployment at zero replicas, marked with the revision of its deletion, and removes the rest.
/// The replicas' token lives in the Deployment's Secret (owned by it), renewed here before it expires; pods read it when
/// they start. Each check reports what the Deployment controller did to the pods — started, restarted (with why),
/// waiting (with why), stopped — as <see cref="ReplicaChangeReport"/> facts.
/// </summary>
public sealed class KubernetesServingRuntime(
    KubeCluster cluster,
    ServingAgentOptions options,
    ReplicaTokens tokens,
    SamplesKeys samplesKeys,
    IWolverineRuntime wolverine,
    TimeProvider time,
    ILogger<KubernetesServingRuntime> log) : BackgroundService, IServingRuntime
{
    public const string EndpointAnnotation = "eventmlops.io/endpoint", RevisionAnnotation = "eventmlops.io/revision",
        DeletedAnnotation = "eventmlops.io/deleted", TokenIssuedAnnotation = "eventmlops.io/token-issued-at", TokenKey = "Serving__Token",
        SamplesKeyKey = "Serving__SamplesKey";

    /// <summary>Renewed well within the replica token's lifetime (an hour), so that a pod started at any time gets a valid one.</summary>
    public static readonly TimeSpan RenewTokenAfter = TimeSpan.FromMinutes(20);

    private readonly EndpointGates _gates = new();
    private readonly ConcurrentDictionary<string, Dictionary<string, ReplicaSeen>> _seen = new();
    private readonly ConcurrentDictionary<string, string> _stopping = new();

    public string Kind => "kubernetes";

    public int MaxReplicasPerEndpoint => int.MaxValue;

    private IKubernetes Client => cluster.Client;

    private string Ns => cluster.Namespace;

    public async Task<IReadOnlyList<string>> EndpointsAsync(CancellationToken ct) =>
        (await cluster.Deployments.AllAsync(ct)).Where(d => !Annotated(d, DeletedAnnotation)).Select(EndpointOf).OfType<string>().Distinct().ToList();

    public async Task<ObservedEndpoint?> ObserveAsync(string endpoint, CancellationToken ct)
    {
        var name = LocalServingRuntime.ReplicaName(endpoint);
        if (await cluster.Deployments.GetAsync(name, ct) is not { } deployment) return null;
        var deleted = Annotated(deployment, DeletedAnnotation);
        var replicas = deleted ? [] : (await cluster.PodsOfAsync(name, ct)).Where(ReplicaFacts.Ready)
            .Select(p => new RunningReplica(ReplicaUrl(p), p.Status?.StartTime is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null))
            .ToList();
        return new ObservedEndpoint(endpoint, RevisionOf(deployment), deleted, replicas);
    }

    public async Task ApplyAsync(ApplyEndpoint desired, int replicas, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        using var gate = await _gates.EnterAsync(desired.Endpoint, ct);
        var name = LocalServingRuntime.ReplicaName(desired.Endpoint);
        var held = await cluster.Deployments.GetAsync(name, ct);
        // Looked at again under the gate: a newer order (delivered in parallel) may have been applied since the plan.
        if (held is not null && RevisionOf(held) > desired.Revision) return;
        // A new (or re-created) endpoint's replicas need a token before they start; a running one's is renewed by the checks.
        var token = held is null || Annotated(held, DeletedAnnotation) ? await tokens.IssueAsync(desired.Endpoint, name, ct) : null;
        var objects = Objects(options, cluster.Options, desired, replicas, token ?? "", samplesKeys.For(desired.Endpoint));
        // Back from a deletion: the zero its deletion patched in stays (an apply leaves out the count when an autoscaler owns
        // it, and an autoscaler does not scale a Deployment at zero), so the same patch sets the count wanted.
        if (held is not null && Annotated(held, DeletedAnnotation))
            await PatchDeploymentAsync(name, new
            {
                metadata = new { annotations = new Dictionary<string, string?> { [DeletedAnnotation] = null } },
                spec = new { replicas },
            }, ct);
        _stopping.TryRemove(desired.Endpoint, out _);
        if (held is not null && objects.Autoscaler is not null && !Annotated(held, DeletedAnnotation)) await HandOverReplicasAsync(held, ct);

        var deployment = await Client.AppsV1.PatchNamespacedDeploymentAsync(Apply(objects.Deployment), name, Ns,
            fieldManager: KubernetesOptions.FieldManager, force: true, cancellationToken: ct);
        cluster.Deployments.Remember(deployment);
        if (token is not null) await ApplySecretAsync(objects.Secret!, deployment, ct);
        await Client.CoreV1.PatchNamespacedServiceAsync(Apply(KubeObjects.OwnedBy(objects.Service, deployment)), name, Ns, fieldManager: KubernetesOptions.FieldManager, force: true, cancellationToken: ct);
        await Client.PolicyV1.PatchNamespacedPodDisruptionBudgetAsync(Apply(KubeObjects.OwnedBy(objects.Budget, deployment)), name, Ns, fieldManager: KubernetesOptions.FieldManager, force: true, cancellationToken: ct);
        if (objects.Autoscaler is { } autoscaler)
            await Client.AutoscalingV2.PatchNamespacedHorizontalPodAutoscalerAsync(Apply(KubeObjects.OwnedBy(autoscaler, deployment)), name, Ns, fieldManager: KubernetesOptions.FieldManager, force: true, cancellationToken: ct);
        else
            await IgnoreMissing(() => Client.AutoscalingV2.DeleteNamespacedHorizontalPodAutoscalerAsync(name, Ns, cancellationToken: ct));
        log.LogInformation("Applied endpoint {Endpoint} revision {Revision} as Deployment {Name} ({Min}..{Max} replicas)",
            desired.Endpoint, desired.Revision, name, replicas, Math.Max(desired.MaxReplicas, replicas));
    }

    public async Task DeleteAsync(string endpoint, long revision, string reason, CancellationToken ct)
    {
        using var gate = await _gates.EnterAsync(endpoint, ct);
        var name = LocalServingRuntime.ReplicaName(endpoint);
        if (await cluster.Deployments.GetAsync(name, ct) is not { } held || Annotated(held, DeletedAnnotation) || RevisionOf(held) > revision) return;
        _stopping[endpoint] = reason;
        var at = revision.ToString(CultureInfo.InvariantCulture);
        await PatchDeploymentAsync(name, new
        {
            metadata = new { annotations = new Dictionary<string, string> { [DeletedAnnotation] = at, [RevisionAnnotation] = at } },
            spec = new { replicas = 0 },
        }, ct);
        await IgnoreMissing(() => Client.AutoscalingV2.DeleteNamespacedHorizontalPodAutoscalerAsync(name, Ns, cancellationToken: ct));
        await IgnoreMissing(() => Client.PolicyV1.DeleteNamespacedPodDisruptionBudgetAsync(name, Ns, cancellationToken: ct));
        await IgnoreMissing(() => Client.CoreV1.DeleteNamespacedServiceAsync(name, Ns, cancellationToken: ct));
        await IgnoreMissing(() => Client.CoreV1.DeleteNamespacedSecretAsync(name, Ns, cancellationToken: ct));
        log.LogInformation("Stopped serving endpoint {Endpoint} (Deployment {Name} scaled to 0): {Reason}", endpoint, name, reason);
    }

    /// <summary>Until the agent stops: reports what happened to every endpoint's pods, and renews replica tokens.</summary>
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                foreach (var deployment in await cluster.Deployments.AllAsync(ct))
                    if (EndpointOf(deployment) is { } endpoint)
                        await CheckAsync(endpoint, deployment, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogError(e, "Checking the endpoints' pods failed; checking again in {Interval}", options.SuperviseInterval);
            }
            try { await Task.Delay(options.SuperviseInterval, time, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task CheckAsync(string endpoint, V1Deployment deployment, CancellationToken ct)
    {
        var name = deployment.Metadata.Name;
        var pods = await cluster.PodsOfAsync(name, ct);
        var (facts, seen) = ReplicaFacts.Changes(_seen.GetValueOrDefault(endpoint) ?? [], pods,
            _stopping.GetValueOrDefault(endpoint) ?? "the pod is gone (scaled down, or replaced)");
        foreach (var fact in facts)
        {
            var pod = pods.FirstOrDefault(p => p.Metadata.Name == fact.Pod);
            log.LogInformation("Serving replica {Pod} of {Endpoint} {Change}{Reason}", fact.Pod, endpoint, fact.Change.ToString().ToLowerInvariant(),
                fact.Reason is null ? "" : ": " + fact.Reason);
            await new MessageBus(wolverine).SendAsync(new ReplicaChangeReport(Guid.NewGuid(), endpoint, fact.Pod, fact.Change, Kind,
                pod is null ? null : ReplicaUrl(pod).ToString(), fact.Reason, fact.ExitCode));
        }
        _seen[endpoint] = seen;
        if (!Annotated(deployment, DeletedAnnotation) && tokens.CanIssue(endpoint) && TokenDue(deployment))
        {
            using var gate = await _gates.EnterAsync(endpoint, ct);
            var replica = Replica(options, cluster.Options, endpoint, name, await tokens.IssueAsync(endpoint, name, ct), samplesKeys.For(endpoint));
            await ApplySecretAsync(KubeObjects.Endpoint(replica, 1, 1, cluster.Options).Secret!, deployment, ct);
        }
    }

    /// <summary>The replicas' token was issued long enough ago (or never, as far as the Deployment says) to renew it. When
    /// it was issued is kept on the Deployment, so that the agents never read a Secret.</summary>
    private bool TokenDue(V1Deployment deployment) =>
        !(deployment.Metadata.Annotations?.TryGetValue(TokenIssuedAnnotation, out var at) == true
          && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var issued)
          && time.GetUtcNow() - issued < RenewTokenAfter);

    /// <summary>What an endpoint is on Kubernetes at <paramref name="desired"/>'s revision, at least <paramref name="replicas"/>
    /// (the plan's) and at most the endpoint's maximum: what <see cref="ApplyAsync"/> applies and <c>emo kube render</c> prints.</summary>
    public static EndpointObjects Objects(ServingAgentOptions options, KubernetesOptions kubernetes, ApplyEndpoint desired, int replicas, string token,
        string samplesKey)
    {
        var name = LocalServingRuntime.ReplicaName(desired.Endpoint);
        var objects = KubeObjects.Endpoint(Replica(options, kubernetes, desired.Endpoint, name, token, samplesKey), replicas, Math.Max(desired.MaxReplicas, replicas), kubernetes);
        objects.Deployment.Metadata.Annotations = new Dictionary<string, string>
        {
            [EndpointAnnotation] = desired.Endpoint,
            [RevisionAnnotation] = desired.Revision.ToString(CultureInfo.InvariantCulture),
        };
        // The scorer's database only by reference to the Secret the operator made for it (a role limited to what it needs).
        if (options.Stream?.DatabaseSecret is { } database)
            objects.Deployment.Spec.Template.Spec.Containers.Single().Env.Add(new V1EnvVar
            {
                Name = ReplicaStream.DatabaseKey,
                ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = database.Name, Key = database.Key } },
            });
        return objects;
    }

    /// <summary>The model server's container, as any runtime would run it: its token, its endpoint's samples key and the
    /// artifact store's credentials as secrets (the Secret is applied only with a freshly issued token; the pod template
    /// refers to the same keys always, so renewing a token restarts no pod).</summary>
    private static JobSpec Replica(ServingAgentOptions options, KubernetesOptions kubernetes, string endpoint, string name, string token, string samplesKey)
    {
        var server = options.Server ?? throw new ServingUnavailable("no model server is configured on this agent: set Serving:Server to the program in the image (emo-serve)");
        var controlPlane = options.ControlPlaneUrl
            ?? throw new ServingUnavailable("the control plane's URL is not configured on this agent (Agents:ControlPlaneUrl): a replica polls its desired state there");
        var secrets = new Dictionary<string, string>(options.StoreSecrets) { [TokenKey] = token, [SamplesKeyKey] = samplesKey };
        var replica = new JobSpec(name, options.Image, server,
            [$"--urls=http://0.0.0.0:{kubernetes.ServingPort.ToString(CultureInfo.InvariantCulture)}", "--control-plane", controlPlane, "--endpoint", endpoint, .. options.ServerArguments],
            new Dictionary<string, string>(options.StoreEnvironment) { ["EMO_HOME"] = KubeObjects.WorkFolder },
            secrets,
            new JobResources(kubernetes.ServingCpus, kubernetes.ServingMemoryMb, kubernetes.ServingGpus),
            new Dictionary<string, string> { ["eventmlops.io/component"] = LocalServingRuntime.Component },
            options.Placement);
        return options.Stream?.On(replica) ?? replica;
    }

    /// <summary>From a fixed count to an autoscaler: left out of the apply, a count only our apply owned would be removed
    /// (and defaulted to 1, stopping all pods but one until the autoscaler acts). Applied first by another manager with the
    /// count it has, it stays, for the autoscaler to take over (server-side apply's transfer of ownership). Not once the
    /// autoscaler exists: the count is then its own, and this copy of it may be older.</summary>
    private async Task HandOverReplicasAsync(V1Deployment held, CancellationToken ct)
    {
        var name = held.Metadata.Name;
        if (held.Spec?.Replicas is not { } count) return;
        try
        {
            await Client.AutoscalingV2.ReadNamespacedHorizontalPodAutoscalerAsync(name, Ns, cancellationToken: ct);
            return;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
        await Client.AppsV1.PatchNamespacedDeploymentAsync(Apply(new { apiVersion = "apps/v1", kind = "Deployment", metadata = new { name, @namespace = Ns }, spec = new { replicas = count } }),
            name, Ns, fieldManager: ReplicasHandover, force: true, cancellationToken: ct);
    }

    /// <summary>The field manager that holds a fixed count while an autoscaler takes it over.</summary>
    public const string ReplicasHandover = "emo-agents-handover";

    /// <summary>Applies the replicas' Secret with a freshly issued token and records on the Deployment when it was issued.</summary>
    private async Task ApplySecretAsync(V1Secret secret, V1Deployment owner, CancellationToken ct)
    {
        await Client.CoreV1.PatchNamespacedSecretAsync(Apply(KubeObjects.OwnedBy(secret, owner)), secret.Metadata.Name, Ns,
            fieldManager: KubernetesOptions.FieldManager, force: true, cancellationToken: ct);
        await PatchDeploymentAsync(owner.Metadata.Name, new
        {
            metadata = new { annotations = new Dictionary<string, string> { [TokenIssuedAnnotation] = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture) } },
        }, ct);
    }

    private async Task PatchDeploymentAsync(string name, object patch, CancellationToken ct) =>
        cluster.Deployments.Remember(await Client.AppsV1.PatchNamespacedDeploymentAsync(KubeObjects.MergePatch(patch), name, Ns,
            fieldManager: KubernetesOptions.FieldManager, cancellationToken: ct));

    /// <summary>Where a pod answers: its own address in the cluster; from outside, through the API server's pod proxy.</summary>
    private Uri ReplicaUrl(V1Pod pod) => cluster.DirectUrl(pod) ?? new Uri(Client.BaseUri, $"api/v1/namespaces/{Ns}/pods/{cluster.ProxyName(pod)}/proxy/");

    private static V1Patch Apply(object obj) => new(obj, V1Patch.PatchType.ApplyPatch);

    private static async Task IgnoreMissing(Func<Task> delete)
    {
        try { await delete(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
    }

    private static bool Annotated(V1Deployment deployment, string key) => deployment.Metadata.Annotations?.ContainsKey(key) == true;

    private static string? EndpointOf(V1Deployment deployment) =>
        deployment.Metadata.Annotations is { } a && a.TryGetValue(EndpointAnnotation, out var endpoint) ? endpoint : null;

    private static long RevisionOf(V1Deployment deployment) =>
        deployment.Metadata.Annotations is { } a && a.TryGetValue(RevisionAnnotation, out var value)
        && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var revision) ? revision : 0;
}
