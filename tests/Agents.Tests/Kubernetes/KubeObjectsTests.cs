using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using EventMlOps.Contracts.Endpoints;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>Every object the Kubernetes runtime builds, validated against the official schemas (kubernetes-models),
/// under the restricted Pod Security Standard, and free of secret values.</summary>
public sealed class KubeObjectsTests
{
    private const string StoreKey = "AKIA-store-secret-value", RunToken = "eyJ.run-scoped.token", ReplicaToken = "eyJ.replica.token",
        SamplesKey = "samples-key-of-the-endpoint";

    private static readonly KubernetesOptions Options = KubernetesOptions.From(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["Kubernetes:Namespace"] = "emo" }).Build());

    private static JobSpec Training(int gpus, IReadOnlyDictionary<string, string>? secrets = null, string model = "recommender") => new(
        "train-0123456789abcdef0123456789abcdef", "registry.example/emo-train:1.4", "emo-train",
        ["neumf", "--data", "s3://b/d.csv", "--device", gpus > 0 ? "cuda" : "cpu"],
        new Dictionary<string, string> { ["Artifacts__S3__Bucket"] = "b", ["MLFLOW_RUN_ID"] = "0123456789abcdef0123456789abcdef" },
        secrets ?? new Dictionary<string, string> { ["AWS_SECRET_ACCESS_KEY"] = StoreKey, ["MLFLOW_TRACKING_TOKEN"] = RunToken },
        new JobResources(4, 8192, gpus),
        new Dictionary<string, string> { ["eventmlops.io/run-id"] = "0123456789abcdef0123456789abcdef", ["eventmlops.io/model"] = model },
        new JobPlacement(new Dictionary<string, string> { ["pool"] = "training" }, []));

    private const string AgentsDatabase = "Host=db;Username=emo_agents;Password=agents-database-password";

    /// <summary>An endpoint as the agents build it; they hold their database connection string (the default transport's),
    /// and <paramref name="settings"/> more.</summary>
    private static EndpointObjects Endpoint(int min, int max, string name = "recommender", params (string Key, string Value)[] settings)
    {
        var config = new Dictionary<string, string?>
        {
            ["Agents:Runtime"] = "kubernetes", ["Agents:ControlPlaneUrl"] = "http://emo-control-plane", ["ConnectionStrings:Marten"] = AgentsDatabase,
            ["Artifacts:S3:Bucket"] = "b", ["Serving:Image"] = "registry.example/emo-serve:1.4",
        };
        foreach (var (key, value) in settings) config[key] = value;
        var serving = ServingAgentOptions.From(new ConfigurationBuilder().AddInMemoryCollection(config).Build());
        var desired = new ApplyEndpoint(name, 7, [new ServedVersion("recommender", 1, "s3://b/m", new string('a', 64), 100)], min, max);
        return KubernetesServingRuntime.Objects(serving, Options, desired, ServingPlan.Decide(desired, null, int.MaxValue).Replicas, ReplicaToken, SamplesKey);
    }

    [Fact]
    public async Task Given_GPU_and_CPU_runs_When_their_Jobs_are_built_Then_they_are_valid_restricted_and_carry_no_secret_value()
    {
        var (gpuJob, gpuSecret) = KubeObjects.TrainingJob(Training(gpus: 2), Options);
        var (cpuJob, cpuSecret) = KubeObjects.TrainingJob(Training(gpus: 0), Options);

        await KubeSchema.RequireValidAsync(gpuJob, gpuSecret!, cpuJob, cpuSecret!);
        foreach (var job in new[] { gpuJob, cpuJob })
        {
            PodSecurity.RestrictedViolations(job.Spec.Template).ShouldBeEmpty();
            PodSecurity.SecretValuesIn(job, [StoreKey, RunToken]).ShouldBeEmpty();
            job.Spec.BackoffLimit.ShouldBe(0);
            job.Spec.ActiveDeadlineSeconds.ShouldBe(86400);
            job.Spec.TtlSecondsAfterFinished.ShouldBe(86400);
            job.Metadata.Labels[KubeObjects.ManagedByLabel].ShouldBe("emo-agents");
            job.Metadata.Labels["eventmlops.io/run-id"].ShouldBe("0123456789abcdef0123456789abcdef");
            job.Spec.Template.Spec.NodeSelector["pool"].ShouldBe("training");
            job.Spec.Template.Spec.AutomountServiceAccountToken.ShouldBe(false);
            job.Spec.Template.Spec.Containers.Single().Env.Where(e => e.ValueFrom?.SecretKeyRef is not null)
                .Select(e => e.Name).ShouldBe(["AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_TOKEN"]);
        }
        var gpu = gpuJob.Spec.Template.Spec;
        gpu.Containers.Single().Resources.Limits[KubeObjects.ExtendedResourceGpu].ToString().ShouldBe("2");
        gpu.NodeSelector["nvidia.com/gpu.present"].ShouldBe("true");
        gpu.Tolerations.ShouldContain(t => t.Key == "nvidia.com/gpu" && t.OperatorProperty == "Exists" && t.Effect == "NoSchedule");
        var cpu = cpuJob.Spec.Template.Spec;
        cpu.Containers.Single().Resources.Limits.ShouldNotContainKey(KubeObjects.ExtendedResourceGpu);
        cpu.NodeSelector.ShouldNotContainKey("nvidia.com/gpu.present");
        cpu.Tolerations.ShouldBeNull();
        gpuSecret!.StringData.ShouldContainKeyAndValue("MLFLOW_TRACKING_TOKEN", RunToken); // only the Secret holds it
    }

    [Fact]
    public void Given_a_run_without_secrets_and_a_model_name_that_is_no_label_value_When_built_Then_no_Secret_and_the_name_is_an_annotation()
    {
        var (job, secret) = KubeObjects.TrainingJob(Training(0, new Dictionary<string, string>(), model: "Recommender (NeuMF, v2)"), Options);

        secret.ShouldBeNull();
        job.Metadata.Labels.ShouldNotContainKey("eventmlops.io/model");
        job.Metadata.Annotations["eventmlops.io/model"].ShouldBe("Recommender (NeuMF, v2)");
        PodFacts.LabelsOf(job.Metadata)["eventmlops.io/model"].ShouldBe("Recommender (NeuMF, v2)");
    }

    [Fact]
    public async Task Given_bounds_with_room_When_an_endpoint_is_built_Then_the_autoscaler_owns_the_count_within_them()
    {
        var objects = Endpoint(1, 3);

        await KubeSchema.RequireValidAsync([.. objects.All]);
        objects.Deployment.Spec.Replicas.ShouldBeNull();
        objects.Autoscaler.ShouldNotBeNull();
        objects.Autoscaler.Spec.MinReplicas.ShouldBe(1);
        objects.Autoscaler.Spec.MaxReplicas.ShouldBe(3);
        objects.Autoscaler.Spec.Metrics.Select(m => m.Type).ShouldBe(["Resource", "Pods"]);
        objects.Autoscaler.Spec.Metrics[1].Pods.Metric.Name.ShouldBe(KubeObjects.InFlightMetric);
        var template = objects.Deployment.Spec.Template;
        PodSecurity.RestrictedViolations(template).ShouldBeEmpty();
        foreach (var obj in objects.All.Where(o => o is not V1Secret))
            PodSecurity.SecretValuesIn(obj, [ReplicaToken, SamplesKey]).ShouldBeEmpty();
        objects.Secret!.StringData[KubernetesServingRuntime.TokenKey].ShouldBe(ReplicaToken);
        objects.Secret.StringData[KubernetesServingRuntime.SamplesKeyKey].ShouldBe(SamplesKey);
        var container = template.Spec.Containers.Single();
        container.Env.Single(e => e.Name == KubernetesServingRuntime.SamplesKeyKey).ValueFrom.SecretKeyRef
            .ShouldSatisfyAllConditions(r => r.Name.ShouldBe(objects.Secret.Metadata.Name), r => r.Key.ShouldBe(KubernetesServingRuntime.SamplesKeyKey));
        container.ReadinessProbe.HttpGet.Path.ShouldBe("/health/ready");
        container.LivenessProbe.HttpGet.Path.ShouldBe("/health/live");
        container.StartupProbe.FailureThreshold.ShouldBe(12);
        objects.Deployment.Spec.Strategy.RollingUpdate.MaxUnavailable.Value.ShouldBe("0");
        template.Spec.TopologySpreadConstraints.Single().TopologyKey.ShouldBe("kubernetes.io/hostname");
        objects.Deployment.Metadata.Annotations[KubernetesServingRuntime.RevisionAnnotation].ShouldBe("7");
        // The revision is not in the pod template: a new revision restarts no pod.
        template.Metadata.Labels.Keys.Concat(template.Metadata.Annotations?.Keys ?? []).ShouldNotContain(KubernetesServingRuntime.RevisionAnnotation);
        objects.Service.Spec.Selector.ShouldBe(objects.Deployment.Spec.Selector.MatchLabels);
        // No Secret for the scorer's database is configured: streams stay off, and the agents' own is never handed on.
        container.Args.ShouldNotContain("--stream");
        container.Env.ShouldNotContain(e => e.Name.StartsWith("Serving__Stream__", StringComparison.Ordinal));
        PodSecurity.SecretValuesIn(objects.Secret, [AgentsDatabase]).ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_a_Secret_for_the_scorers_database_When_an_endpoint_is_built_Then_its_replicas_score_streams_reading_the_database_from_that_Secret_only()
    {
        var objects = Endpoint(1, 3, "sensors", ("Kubernetes:StreamDatabaseSecret", "emo-stream-database"), ("Marten:Schema", "prod"));

        await KubeSchema.RequireValidAsync([.. objects.All]);
        var container = objects.Deployment.Spec.Template.Spec.Containers.Single();
        container.Args.ShouldContain("--stream");
        container.Env.Single(e => e.Name == "Serving__Stream__Database").ShouldSatisfyAllConditions(
            e => e.Value.ShouldBeNull(),
            e => e.ValueFrom.SecretKeyRef.Name.ShouldBe("emo-stream-database"),
            e => e.ValueFrom.SecretKeyRef.Key.ShouldBe("Serving__Stream__Database"));
        container.Env.Single(e => e.Name == "Serving__Stream__QueueSchema").Value.ShouldBe("prod_queues");
        foreach (var obj in objects.All) PodSecurity.SecretValuesIn(obj, [AgentsDatabase]).ShouldBeEmpty();
        objects.Secret!.StringData.Keys.ShouldNotContain("Serving__Stream__Database");

        var keyed = Endpoint(1, 3, "sensors", ("Kubernetes:StreamDatabaseSecret", "emo-stream-database"), ("Kubernetes:StreamDatabaseKey", "connection"));
        keyed.Deployment.Spec.Template.Spec.Containers.Single().Env.Single(e => e.Name == "Serving__Stream__Database").ValueFrom.SecretKeyRef.Key.ShouldBe("connection");
        var off = Endpoint(1, 3, "sensors", ("Kubernetes:StreamDatabaseSecret", "emo-stream-database"), ("Serving:Streams", "false"));
        off.Deployment.Spec.Template.Spec.Containers.Single().Args.ShouldNotContain("--stream");
    }

    [Fact]
    public async Task Given_min_equal_to_max_When_an_endpoint_is_built_Then_the_Deployment_holds_the_count_and_there_is_no_autoscaler()
    {
        var objects = Endpoint(2, 2);

        await KubeSchema.RequireValidAsync([.. objects.All]);
        objects.Deployment.Spec.Replicas.ShouldBe(2);
        objects.Autoscaler.ShouldBeNull();
        objects.Budget.Spec.MaxUnavailable.Value.ShouldBe("1");
    }

    [Fact]
    public void Given_an_endpoint_name_that_is_no_DNS_label_When_built_Then_its_objects_are_named_safely_and_keep_the_name()
    {
        var objects = Endpoint(1, 1, name: "Fraud Scoring/EU");

        objects.Deployment.Metadata.Name.ShouldBe(LocalServingRuntime.ReplicaName("Fraud Scoring/EU"));
        objects.Deployment.Metadata.Name.ShouldMatch("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");
        objects.Deployment.Metadata.Annotations[KubernetesServingRuntime.EndpointAnnotation].ShouldBe("Fraud Scoring/EU");
    }

    [Theory]
    [InlineData("registry.example/emo-train:1.4", "registry.example/emo-train@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "registry.example/emo-train@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("registry.example/emo-train:1.4", "registry.example/emo-train:1.5", "registry.example/emo-train:1.5")]
    [InlineData("localhost:5000/emo-train", "localhost:5000/emo-train:dev", "localhost:5000/emo-train:dev")]
    [InlineData("registry.example/emo-train:1.4", "evil.example/miner:latest", "registry.example/emo-train:1.4")]
    [InlineData("registry.example/emo-train:1.4", "registry.example/emo-train-evil:1", "registry.example/emo-train:1.4")]
    [InlineData("registry.example/emo-train:1.4", "registry.example/emo-train:1.5 --privileged", "registry.example/emo-train:1.4")]
    [InlineData("registry.example/emo-train:1.4", "git:4f2a9c1", "registry.example/emo-train:1.4")]
    [InlineData("registry.example/emo-train:1.4", "registry.example/emo-train:1.5\n", "registry.example/emo-train:1.4")]
    public void Given_a_code_version_When_the_trainer_image_is_chosen_Then_it_pins_only_the_configured_repository(string configured, string codeVersion, string expected) =>
        TrainingJob.Image(configured, codeVersion).ShouldBe(expected);

    [Theory]
    [InlineData("v1.4\n")]
    [InlineData("4f2a9c1 ")]
    public void Given_a_value_with_a_trailing_line_break_or_space_When_labelled_Then_it_is_kept_as_an_annotation(string codeVersion)
    {
        // A label value the API server refuses would make the whole Job refused, again on every retry.
        var (job, _) = KubeObjects.TrainingJob(Training(0) with
        {
            Labels = new Dictionary<string, string> { ["eventmlops.io/run-id"] = "0123456789abcdef0123456789abcdef", ["eventmlops.io/code-version"] = codeVersion },
        }, Options);

        job.Metadata.Labels.ShouldNotContainKey("eventmlops.io/code-version");
        job.Metadata.Annotations["eventmlops.io/code-version"].ShouldBe(codeVersion);
    }

    [Fact]
    public void Given_a_code_version_longer_than_any_annotation_may_be_When_a_run_is_prepared_Then_the_order_is_refused_with_why()
    {
        var options = TrainingAgentOptions.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agents:Runtime"] = "kubernetes", ["Training:TrackingUri"] = "http://emo-control-plane",
        }).Build());
        var order = new EventMlOps.Contracts.Training.LaunchTraining(Guid.NewGuid(), "rec", "neumf", "s3://b/d.csv", new string('a', 64),
            new Dictionary<string, double>(), new EventMlOps.Contracts.Training.TrainingResources(), new string('x', 300_000));

        // Kept on the Job (an annotation), it would make the API server refuse the Job on every retry: the run never failed, never started.
        Should.Throw<InvalidTrainingOrder>(() => TrainingJob.Prepare(order, options)).Message.ShouldContain("code version");
    }
}
