using System.Globalization;
using System.Text.RegularExpressions;
using EventMlOps.Agents.Runtime;
using k8s;
using k8s.Models;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>The objects the Kubernetes runtime applies, built from a runtime-neutral <see cref="JobSpec"/> — pure, so
/// that <c>emo kube render</c> prints exactly what the runtime would apply. Every pod runs under the "restricted" Pod
/// Security Standard (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp) with a
/// read-only root filesystem (its working folder and /tmp are emptyDirs), without a service-account token; secrets reach
/// it only through a Secret of the same name, owned by the workload (garbage-collected with it), never as literal values.</summary>
public static class KubeObjects
{
    public const string NameLabel = "app.kubernetes.io/name", InstanceLabel = "app.kubernetes.io/instance",
        ComponentLabel = "app.kubernetes.io/component", ManagedByLabel = "app.kubernetes.io/managed-by";

    public const string Training = "training", Serving = "serving", Container = "main", HttpPort = "http", WorkFolder = "/work";

    /// <summary>The label every object the runtime creates carries: what it lists and watches.</summary>
    public static readonly IReadOnlyDictionary<string, string> Managed = new Dictionary<string, string> { [ManagedByLabel] = KubernetesOptions.FieldManager };

    public const string ExtendedResourceGpu = "nvidia.com/gpu";

    // \z, not $: $ also matches before a final line break, which no label value may hold.
    private static readonly Regex LabelValue = new("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\\z", RegexOptions.CultureInvariant);

    public static string? Label(V1ObjectMeta metadata, string key) => metadata.Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;

    public static string Selector(IReadOnlyDictionary<string, string> labels) =>
        string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    /// <summary>A training job: <c>batch/v1</c> Job (no retries, a deadline, cleaned up a while after it finished) and,
    /// when the job has secrets, its Secret (owned by the Job once the Job exists: <see cref="OwnedBy"/>).</summary>
    public static (V1Job Job, V1Secret? Secret) TrainingJob(JobSpec spec, KubernetesOptions options)
    {
        var (labels, annotations) = Metadata(spec, Training);
        var job = new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta { Name = spec.Name, NamespaceProperty = options.Namespace, Labels = labels, Annotations = NullIfEmpty(annotations) },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                ActiveDeadlineSeconds = options.ActiveDeadlineSeconds,
                TtlSecondsAfterFinished = options.TtlSecondsAfterFinished,
                Template = PodTemplate(spec, labels, annotations, "Never", options, probes: null),
            },
        };
        return (job, SecretFor(spec, labels, options));
    }

    /// <summary>An endpoint: Deployment (rolling updates never below the replicas wanted), Service, PodDisruptionBudget and,
    /// when its bounds leave room (<paramref name="minReplicas"/> &lt; <paramref name="maxReplicas"/>), a
    /// HorizontalPodAutoscaler on CPU and on in-flight requests per pod — then the Deployment leaves its replica count to
    /// the autoscaler (an applied count would fight it); at min = max it is the count. <paramref name="replica"/> is the
    /// model server's container as the serving runtime would run it anywhere.</summary>
    public static EndpointObjects Endpoint(JobSpec replica, int minReplicas, int maxReplicas, KubernetesOptions options)
    {
        var (labels, annotations) = Metadata(replica, Serving);
        var selector = new Dictionary<string, string> { [InstanceLabel] = replica.Name, [ComponentLabel] = Serving };
        var probes = new Probes(options.StartupSeconds);
        var deployment = new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = replica.Name, NamespaceProperty = options.Namespace, Labels = labels, Annotations = NullIfEmpty(annotations) },
            Spec = new V1DeploymentSpec
            {
                Replicas = minReplicas == maxReplicas ? minReplicas : null,
                RevisionHistoryLimit = 3,
                Selector = new V1LabelSelector { MatchLabels = selector },
                Strategy = new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new V1RollingUpdateDeployment { MaxUnavailable = 0, MaxSurge = 1 },
                },
                Template = PodTemplate(replica, labels, annotations, null, options, probes),
            },
        };
        deployment.Spec.Template.Spec.TopologySpreadConstraints =
        [
            new V1TopologySpreadConstraint
            {
                MaxSkew = 1, TopologyKey = "kubernetes.io/hostname", WhenUnsatisfiable = "ScheduleAnyway",
                LabelSelector = new V1LabelSelector { MatchLabels = selector },
            },
        ];
        var service = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { Name = replica.Name, NamespaceProperty = options.Namespace, Labels = labels, Annotations = NullIfEmpty(annotations) },
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Selector = selector,
                Ports = [new V1ServicePort { Name = HttpPort, Port = 80, TargetPort = HttpPort, Protocol = "TCP" }],
            },
        };
        var budget = new V1PodDisruptionBudget
        {
            ApiVersion = "policy/v1",
            Kind = "PodDisruptionBudget",
            Metadata = new V1ObjectMeta { Name = replica.Name, NamespaceProperty = options.Namespace, Labels = labels },
            // One replica at a time may be evicted (a node drain goes on; an endpoint of one replica is briefly away).
            Spec = new V1PodDisruptionBudgetSpec { MaxUnavailable = 1, Selector = new V1LabelSelector { MatchLabels = selector } },
        };
        var autoscaler = minReplicas == maxReplicas ? null : new V2HorizontalPodAutoscaler
        {
            ApiVersion = "autoscaling/v2",
            Kind = "HorizontalPodAutoscaler",
            Metadata = new V1ObjectMeta { Name = replica.Name, NamespaceProperty = options.Namespace, Labels = labels },
            Spec = new V2HorizontalPodAutoscalerSpec
            {
                ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = replica.Name },
                MinReplicas = minReplicas,
                MaxReplicas = maxReplicas,
                Metrics =
                [
                    new V2MetricSpec
                    {
                        Type = "Resource",
                        Resource = new V2ResourceMetricSource
                        {
                            Name = "cpu",
                            Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = options.CpuTargetPercent },
                        },
                    },
                    new V2MetricSpec
                    {
                        // emo-serve's in-flight gauge, served to the HPA by the Prometheus adapter (see the README's rule).
                        Type = "Pods",
                        Pods = new V2PodsMetricSource
                        {
                            Metric = new V2MetricIdentifier { Name = InFlightMetric },
                            Target = new V2MetricTarget { Type = "AverageValue", AverageValue = new ResourceQuantity(options.InFlightTarget.ToString(CultureInfo.InvariantCulture)) },
                        },
                    },
                ],
            },
        };
        return new EndpointObjects(deployment, service, budget, autoscaler, SecretFor(replica, labels, options));
    }

    /// <summary>The per-pod metric the autoscaler reads: emo-serve's <c>emo.serving.requests.in_flight</c> as Prometheus names it.</summary>
    public const string InFlightMetric = "emo_serving_requests_in_flight";

    /// <summary>An object made a dependent of its workload (as the API server returned it, with its uid), so that
    /// deleting the workload deletes it.</summary>
    public static T OwnedBy<T>(T obj, IKubernetesObject<V1ObjectMeta> owner) where T : IKubernetesObject<V1ObjectMeta>
    {
        obj.Metadata.OwnerReferences =
        [
            new V1OwnerReference { ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Metadata.Name, Uid = owner.Metadata.Uid },
        ];
        return obj;
    }

    /// <summary>A JSON merge patch (annotations, a suspension, a count): fields the runtime sets apart from its applies.</summary>
    public static V1Patch MergePatch(object body) => new(KubernetesJson.Serialize(body), V1Patch.PatchType.MergePatch);

    /// <summary>Labels: the recommended <c>app.kubernetes.io/*</c> ones and the job's own where they are valid label values;
    /// the job's labels that are not (a model's display name) are kept as annotations, and so read back.</summary>
    private static (Dictionary<string, string> Labels, Dictionary<string, string> Annotations) Metadata(JobSpec spec, string component)
    {
        var labels = new Dictionary<string, string>
        {
            [NameLabel] = component == Training ? "emo-train" : "emo-serve",
            [InstanceLabel] = spec.Name,
            [ComponentLabel] = component,
            [ManagedByLabel] = KubernetesOptions.FieldManager,
        };
        var annotations = new Dictionary<string, string>();
        foreach (var (key, value) in spec.Labels)
            (value.Length <= 63 && LabelValue.IsMatch(value) ? labels : annotations)[key] = value;
        return (labels, annotations);
    }

    private static V1PodTemplateSpec PodTemplate(JobSpec spec, Dictionary<string, string> labels, Dictionary<string, string> annotations,
        string? restartPolicy, KubernetesOptions options, Probes? probes)
    {
        var gpus = spec.Resources.Gpus;
        var nodeSelector = new Dictionary<string, string>(spec.Placement?.NodeSelector ?? new Dictionary<string, string>());
        var tolerations = (spec.Placement?.Tolerations ?? []).Select(t => new V1Toleration { Key = t.Key, OperatorProperty = t.Operator, Value = t.Value, Effect = t.Effect }).ToList();
        if (gpus > 0)
        {
            foreach (var (key, value) in options.GpuNodeSelector) nodeSelector.TryAdd(key, value);
            if (tolerations.All(t => t.Key != ExtendedResourceGpu))
                tolerations.Add(new V1Toleration { Key = ExtendedResourceGpu, OperatorProperty = "Exists", Effect = "NoSchedule" });
        }
        var requests = new Dictionary<string, ResourceQuantity>();
        var limits = new Dictionary<string, ResourceQuantity>();
        if (spec.Resources.Cpus > 0) requests["cpu"] = new ResourceQuantity(spec.Resources.Cpus.ToString(CultureInfo.InvariantCulture));
        if (spec.Resources.MemoryMb > 0)
            requests["memory"] = limits["memory"] = new ResourceQuantity($"{spec.Resources.MemoryMb.ToString(CultureInfo.InvariantCulture)}Mi");
        if (gpus > 0) limits[ExtendedResourceGpu] = new ResourceQuantity(gpus.ToString(CultureInfo.InvariantCulture));

        var env = new List<V1EnvVar> { new() { Name = "HOME", Value = WorkFolder }, new() { Name = "TMPDIR", Value = "/tmp" } };
        env.AddRange(spec.Environment.Where(e => e.Key is not ("HOME" or "TMPDIR")).OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new V1EnvVar { Name = e.Key, Value = e.Value }));
        env.AddRange(spec.Secrets.Keys.Order(StringComparer.Ordinal).Select(key => new V1EnvVar
        {
            Name = key,
            ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = spec.Name, Key = key } },
        }));
        var container = new V1Container
        {
            Name = Container,
            Image = spec.Image,
            Command = [spec.Command],
            Args = [.. spec.Args],
            WorkingDir = WorkFolder,
            Env = env,
            Resources = new V1ResourceRequirements { Requests = requests.Count > 0 ? requests : null, Limits = limits.Count > 0 ? limits : null },
            SecurityContext = new V1SecurityContext
            {
                AllowPrivilegeEscalation = false,
                ReadOnlyRootFilesystem = true,
                RunAsNonRoot = true,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
            VolumeMounts = [new V1VolumeMount { Name = "work", MountPath = WorkFolder }, new V1VolumeMount { Name = "tmp", MountPath = "/tmp" }],
        };
        if (probes is not null)
        {
            container.Ports = [new V1ContainerPort { Name = HttpPort, ContainerPort = options.ServingPort, Protocol = "TCP" }];
            container.ReadinessProbe = probes.Http("/health/ready", periodSeconds: 5, failures: 3);
            container.LivenessProbe = probes.Http("/health/live", periodSeconds: 10, failures: 3);
            // Loading models may take a while: liveness starts counting once the server first answered.
            container.StartupProbe = probes.Http("/health/live", periodSeconds: 5, failures: probes.StartupFailures);
        }
        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels), Annotations = NullIfEmpty(new Dictionary<string, string>(annotations)) },
            Spec = new V1PodSpec
            {
                RestartPolicy = restartPolicy,
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                TerminationGracePeriodSeconds = (long)options.CancelGrace.TotalSeconds,
                SecurityContext = new V1PodSecurityContext
                {
                    RunAsNonRoot = true,
                    RunAsUser = options.RunAsUser,
                    RunAsGroup = options.RunAsUser,
                    FsGroup = options.RunAsUser,
                    SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                },
                NodeSelector = nodeSelector.Count > 0 ? nodeSelector : null,
                Tolerations = tolerations.Count > 0 ? tolerations : null,
                Containers = [container],
                Volumes = [new V1Volume { Name = "work", EmptyDir = new V1EmptyDirVolumeSource() }, new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }],
            },
        };
    }

    private static Dictionary<string, string>? NullIfEmpty(Dictionary<string, string> values) => values.Count > 0 ? values : null;

    private static V1Secret? SecretFor(JobSpec spec, Dictionary<string, string> labels, KubernetesOptions options) =>
        spec.Secrets.Count == 0 ? null : new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = spec.Name, NamespaceProperty = options.Namespace, Labels = new Dictionary<string, string>(labels) },
            Type = "Opaque",
            StringData = new Dictionary<string, string>(spec.Secrets),
        };

    private sealed record Probes(TimeSpan Startup)
    {
        public int StartupFailures => Math.Max(1, (int)Math.Ceiling(Startup.TotalSeconds / 5));

        public V1Probe Http(string path, int periodSeconds, int failures) => new()
        {
            HttpGet = new V1HTTPGetAction { Path = path, Port = HttpPort },
            PeriodSeconds = periodSeconds,
            FailureThreshold = failures,
            TimeoutSeconds = 2,
        };
    }
}

/// <summary>What one endpoint is on Kubernetes; <see cref="Autoscaler"/> only when its bounds leave room, <see cref="Secret"/>
/// (the replicas' token and store credentials) only when there are secrets.</summary>
public sealed record EndpointObjects(V1Deployment Deployment, V1Service Service, V1PodDisruptionBudget Budget, V2HorizontalPodAutoscaler? Autoscaler, V1Secret? Secret)
{
    public IEnumerable<IKubernetesObject<V1ObjectMeta>> All =>
        new IKubernetesObject<V1ObjectMeta>?[] { Deployment, Service, Budget, Autoscaler, Secret }.OfType<IKubernetesObject<V1ObjectMeta>>();
}
