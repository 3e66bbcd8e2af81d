using System.Text.Json.Nodes;
using k8s.Models;
using Xunit.Sdk;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>The harness the Kubernetes runtime's tests lean on must be able to fail: valid objects pass, and a wrong
/// type, a missing required field, an unknown kind or a misspelled field fails with the validator's message.</summary>
public class KubeSchemaTests
{
    private static readonly Dictionary<string, string> Labels = new() { ["eventmlops.io/run-id"] = "0f8e", ["app.kubernetes.io/name"] = "serve" };

    private static V1PodSpec RestrictedPod(params V1Volume[] volumes) => new()
    {
        RestartPolicy = "Never",
        SecurityContext = new V1PodSecurityContext { RunAsNonRoot = true, RunAsUser = 1000, SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" } },
        Containers =
        [
            new V1Container
            {
                Name = "trainer",
                Image = "registry.local/emo-train:1.0",
                Args = ["--epochs", "3"],
                Env = [new V1EnvVar { Name = "MLFLOW_TRACKING_TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "train-0f8e", Key = "token" } } }],
                Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m"), ["memory"] = new("1Gi") } },
                SecurityContext = new V1SecurityContext
                {
                    AllowPrivilegeEscalation = false,
                    ReadOnlyRootFilesystem = true,
                    Capabilities = new V1Capabilities { Drop = ["ALL"] },
                },
                VolumeMounts = [.. volumes.Select(v => new V1VolumeMount { Name = v.Name, MountPath = "/" + v.Name })],
            },
        ],
        Volumes = volumes,
    };

    private static V1Job Job() => new()
    {
        ApiVersion = "batch/v1",
        Kind = "Job",
        Metadata = new V1ObjectMeta { Name = "train-0f8e", NamespaceProperty = "emo", Labels = Labels },
        Spec = new V1JobSpec
        {
            BackoffLimit = 0,
            TtlSecondsAfterFinished = 3600,
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = Labels },
                Spec = RestrictedPod(new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }),
            },
        },
    };

    private static object[] OneOfEachKind() =>
    [
        Job(),
        new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = "serve-rec", Labels = Labels },
            Spec = new V1DeploymentSpec
            {
                Replicas = 2,
                Selector = new V1LabelSelector { MatchLabels = Labels },
                Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = Labels }, Spec = RestrictedPod() },
            },
        },
        new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { Name = "serve-rec" },
            Spec = new V1ServiceSpec { Selector = Labels, Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = "http" }] },
        },
        new V2HorizontalPodAutoscaler
        {
            ApiVersion = "autoscaling/v2",
            Kind = "HorizontalPodAutoscaler",
            Metadata = new V1ObjectMeta { Name = "serve-rec" },
            Spec = new V2HorizontalPodAutoscalerSpec
            {
                ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = "serve-rec" },
                MinReplicas = 1,
                MaxReplicas = 4,
                Metrics =
                [
                    new V2MetricSpec
                    {
                        Type = "Resource",
                        Resource = new V2ResourceMetricSource { Name = "cpu", Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = 70 } },
                    },
                ],
            },
        },
        new V1PodDisruptionBudget
        {
            ApiVersion = "policy/v1",
            Kind = "PodDisruptionBudget",
            Metadata = new V1ObjectMeta { Name = "serve-rec" },
            Spec = new V1PodDisruptionBudgetSpec { MinAvailable = 1, Selector = new V1LabelSelector { MatchLabels = Labels } },
        },
        new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = "train-0f8e" },
            Type = "Opaque",
            StringData = new Dictionary<string, string> { ["token"] = "s3cr3t-token" },
        },
    ];

    private const string ValidJob = """
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train-raw", "labels": {"any.key/you-like": "x"}},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "trainer", "image": "emo-train:1.0"}]}}}}
        """;

    private static async Task<SchemaResult> Validate(string json) => (await KubeSchema.ValidateAsync([json])).ShouldHaveSingleItem();

    [Fact]
    public async Task Models_of_every_kind_the_agents_write_pass_and_each_result_names_its_object()
    {
        var results = await KubeSchema.ValidateAsync(OneOfEachKind());

        results.ShouldAllBe(r => r.Ok && r.Error == null);
        results.Select(r => (r.Index, r.Kind, r.Name)).ShouldBe(
        [
            (0, "Job", "train-0f8e"), (1, "Deployment", "serve-rec"), (2, "Service", "serve-rec"),
            (3, "HorizontalPodAutoscaler", "serve-rec"), (4, "PodDisruptionBudget", "serve-rec"), (5, "Secret", "train-0f8e"),
        ]);
        await KubeSchema.RequireValidAsync(OneOfEachKind());
    }

    [Fact]
    public async Task Raw_json_passes_with_any_label_key_in_a_map()
    {
        (await Validate(ValidJob)).ShouldBe(new SchemaResult(0, "Job", "train-raw", true, null));
        (await KubeSchema.ValidateAsync([JsonNode.Parse(ValidJob)!])).ShouldHaveSingleItem().Ok.ShouldBeTrue();
    }

    [Fact]
    public async Task A_wrong_type_fails_with_the_path_and_the_expected_type()
    {
        var result = await Validate("""
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "serve-rec"},
             "spec": {"replicas": "three", "selector": {}, "template": {}}}
            """);

        result.Ok.ShouldBeFalse();
        result.Error.ShouldBe("data/spec/replicas must be integer");
    }

    [Fact]
    public async Task A_missing_required_field_fails_a_container_without_a_name_or_a_deployment_without_a_selector()
    {
        var noName = await Validate("""
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train-x"},
             "spec": {"template": {"spec": {"containers": [{"image": "emo-train:1.0"}]}}}}
            """);
        var noSelector = await Validate("""{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {}}}""");

        noName.Error.ShouldBe("data/spec/template/spec/containers/0 must have required property name");
        noSelector.Error.ShouldBe("data/spec must have required property selector");
    }

    [Theory]
    [InlineData("""{"apiVersion": "batch/v1", "kind": "Jobb"}""", "Jobb", "unknown kind Jobb in batch/v1")]
    [InlineData("""{"apiVersion": "batch/v1", "kind": "JobSpec"}""", "JobSpec", "unknown kind JobSpec in batch/v1")]
    [InlineData("""{"apiVersion": "batch/v9", "kind": "Job"}""", "Job", "unknown apiVersion batch/v9")]
    [InlineData("""{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService"}""", "InferenceService", "unknown apiVersion serving.kserve.io/v1beta1")]
    [InlineData("""{"apiVersion": "../../x", "kind": "Job"}""", "Job", "unknown apiVersion \"../../x\"")]
    [InlineData("""{"kind": "Job"}""", "Job", "apiVersion is missing")]
    [InlineData("""{"apiVersion": "batch/v1"}""", null, "kind is missing")]
    [InlineData("""[1]""", null, "not a JSON object")]
    public async Task An_unknown_or_missing_kind_fails_rather_than_passes(string json, string? kind, string error) =>
        (await Validate(json)).ShouldBe(new SchemaResult(0, kind, null, false, error));

    [Fact]
    public async Task A_model_without_api_version_and_kind_fails()
    {
        var job = Job();
        job.ApiVersion = null;
        job.Kind = null;

        (await KubeSchema.ValidateAsync([job])).ShouldHaveSingleItem().Error.ShouldBe("apiVersion is missing");
    }

    [Fact]
    public async Task An_unknown_field_fails_at_any_depth_though_the_schemas_allow_it()
    {
        var result = await Validate("""
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train-x", "lables": {}},
             "spec": {"backofLimit": 1, "template": {"spec": {"containers": [{"name": "a", "image": "b", "imagePullPolicyy": "Always"}]}}}}
            """);

        result.Ok.ShouldBeFalse();
        result.Error.ShouldBe("data/metadata/lables is not a known field, data/spec/backofLimit is not a known field, " +
                              "data/spec/template/spec/containers/0/imagePullPolicyy is not a known field");
    }

    [Fact]
    public async Task A_schema_error_and_an_unknown_field_are_both_reported()
    {
        var result = await Validate("""
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
             "spec": {"replicas": "three", "selector": {}, "template": {}, "replica": 3}}
            """);

        result.Error.ShouldBe("data/spec/replicas must be integer, data/spec/replica is not a known field");
    }

    [Fact]
    public async Task Require_valid_lists_every_error_of_every_invalid_object()
    {
        var bad = Job();
        bad.Spec.Template.Spec.Containers[0].Name = null;

        var failure = await Should.ThrowAsync<XunitException>(() => KubeSchema.RequireValidAsync(
            Job(), bad, """{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": "three", "selector": {}, "template": {}}}"""));

        failure.Message.ShouldBe("""
            Kubernetes objects fail the schema:
              [1] Job train-0f8e: data/spec/template/spec/containers/0 must have required property name
              [2] Deployment d: data/spec/replicas must be integer
            """.ReplaceLineEndings("\n").TrimEnd());
    }
}

/// <summary>The restricted Pod Security Standard (plus a read-only root filesystem), and no literal secret in an object.</summary>
public class PodSecurityTests
{
    private static V1PodSpec Compliant() => new()
    {
        SecurityContext = new V1PodSecurityContext { RunAsNonRoot = true, SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" } },
        Containers = [Container("trainer")],
        InitContainers = [Container("fetch")],
        Volumes = [new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }, new V1Volume { Name = "token", Secret = new V1SecretVolumeSource { SecretName = "s" } }],
    };

    private static V1Container Container(string name) => new()
    {
        Name = name,
        Image = "emo-train:1.0",
        SecurityContext = new V1SecurityContext { AllowPrivilegeEscalation = false, ReadOnlyRootFilesystem = true, Capabilities = new V1Capabilities { Drop = ["ALL"] } },
    };

    [Fact]
    public void A_compliant_pod_has_no_violations_whether_the_pod_or_each_container_sets_the_shared_fields()
    {
        PodSecurity.RestrictedViolations(Compliant()).ShouldBeEmpty();
        PodSecurity.RestrictedViolations(new V1PodTemplateSpec { Spec = Compliant() }).ShouldBeEmpty();

        var perContainer = Compliant();
        perContainer.SecurityContext = null;
        foreach (var c in perContainer.Containers.Concat(perContainer.InitContainers))
        {
            c.SecurityContext.RunAsNonRoot = true;
            c.SecurityContext.SeccompProfile = new V1SeccompProfile { Type = "Localhost", LocalhostProfile = "emo.json" };
            c.SecurityContext.Capabilities.Add = ["NET_BIND_SERVICE"];
        }
        PodSecurity.RestrictedViolations(perContainer).ShouldBeEmpty();
    }

    [Fact]
    public void A_pod_with_no_security_context_at_all_breaks_every_container_rule()
    {
        var pod = new V1PodSpec { Containers = [new V1Container { Name = "bare", Image = "x" }] };

        PodSecurity.RestrictedViolations(pod).ShouldBe(
        [
            "container 'bare' does not set allowPrivilegeEscalation false",
            "container 'bare' does not set readOnlyRootFilesystem true",
            "container 'bare' may run as root (runAsNonRoot true on neither the container nor the pod)",
            "container 'bare' has no RuntimeDefault or Localhost seccomp profile (on neither the container nor the pod)",
            "container 'bare' does not drop ALL capabilities",
        ]);
    }

    [Fact]
    public void Each_violation_is_named()
    {
        var pod = Compliant();
        pod.HostNetwork = true;
        pod.HostPID = true;
        pod.HostIPC = true;
        pod.Volumes.Add(new V1Volume { Name = "docker", HostPath = new V1HostPathVolumeSource { Path = "/var/run/docker.sock" } });
        var trainer = pod.Containers[0].SecurityContext;
        trainer.Privileged = true;
        trainer.Capabilities = new V1Capabilities { Add = ["SYS_ADMIN", "NET_BIND_SERVICE"] };
        trainer.SeccompProfile = new V1SeccompProfile { Type = "Unconfined" };
        trainer.RunAsNonRoot = false;
        trainer.RunAsUser = 0;
        pod.Containers[0].Ports = [new V1ContainerPort { ContainerPort = 8080, HostPort = 8080 }];
        var fetch = pod.InitContainers[0].SecurityContext;
        fetch.AllowPrivilegeEscalation = true;
        fetch.ReadOnlyRootFilesystem = false;

        PodSecurity.RestrictedViolations(pod).ShouldBe(
        [
            "hostNetwork is true",
            "hostPID is true",
            "hostIPC is true",
            "volume 'docker' is a hostPath volume",
            "container 'trainer' is privileged",
            "container 'trainer' may run as root (runAsNonRoot true on neither the container nor the pod)",
            "container 'trainer' runs as user 0",
            "container 'trainer' has no RuntimeDefault or Localhost seccomp profile (on neither the container nor the pod)",
            "container 'trainer' does not drop ALL capabilities",
            "container 'trainer' adds capability SYS_ADMIN",
            "container 'trainer' binds host port 8080",
            "init container 'fetch' does not set allowPrivilegeEscalation false",
            "init container 'fetch' does not set readOnlyRootFilesystem true",
        ]);
    }

    [Fact]
    public void A_secret_written_into_a_job_is_found_in_clear_or_in_base64_and_a_secret_reference_is_not()
    {
        var byReference = new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta { Name = "train-x" },
            Spec = new V1JobSpec
            {
                Template = new V1PodTemplateSpec
                {
                    Spec = new V1PodSpec
                    {
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "trainer",
                                Env = [new V1EnvVar { Name = "TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "train-x", Key = "token" } } }],
                            },
                        ],
                    },
                },
            },
        };
        string[] secrets = ["tok+en/<1>", "s3cr3t"];

        PodSecurity.SecretValuesIn(byReference, secrets).ShouldBeEmpty();

        byReference.Spec.Template.Spec.Containers[0].Args = ["--token=tok+en/<1>"]; // JSON escapes + and <; still found
        byReference.Metadata.Annotations = new Dictionary<string, string> { ["note"] = Convert.ToBase64String("s3cr3t"u8) };
        PodSecurity.SecretValuesIn(byReference, secrets).ShouldBe(secrets);
        PodSecurity.SecretValuesIn("""{"data": {"token": "czNjcjN0"}}""", ["s3cr3t"]).ShouldBe(["s3cr3t"]);
        Should.Throw<ArgumentException>(() => PodSecurity.SecretValuesIn(byReference, [""]));
    }
}
