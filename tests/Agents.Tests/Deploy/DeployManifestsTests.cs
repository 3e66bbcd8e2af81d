using System.Text.Json.Nodes;
using EventMlOps.Agents.Tests.Kubernetes;
using Xunit.Sdk;
using static EventMlOps.Agents.Tests.Deploy.DeployLayout;

namespace EventMlOps.Agents.Tests.Deploy;

/// <summary>
/// deploy/kubernetes as an operator applies it: every overlay (and every component, through the overlays) rendered by
/// <c>kubectl kustomize</c>, every rendered object valid against its schema (tests/node/validate.mjs) and compliant with
/// <see cref="DeployPolicy"/>. The same checks run over fixtures (Deploy/Fixtures): a compliant tree shaped like
/// deploy/kubernetes, which passes, and deliberately faulty objects, which prove that each check fails.
/// </summary>
public sealed class DeployManifestsTests
{
    // ---- rendering ----

    [Fact]
    public async Task Given_deploy_kubernetes_When_every_overlay_and_component_is_rendered_with_kubectl_Then_each_renders_objects()
    {
        SkipUntilTheManifestsExist();

        var renders = await RenderedAsync(Real);

        renders.ShouldAllBe(r => r.Objects.Count > 0);
        renders.Select(r => r.Name).ShouldContain(n => n.StartsWith("overlays", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_the_fixture_tree_When_rendered_Then_its_overlay_renders_and_the_component_no_overlay_includes_is_rendered_added_to_it()
    {
        var renders = await RenderedAsync(Fixture("good"));

        renders.Select(r => r.Name).ShouldBe(["overlays/dev", "overlays/dev + components/plain-secrets"]);
        var dev = renders[0].Objects;
        dev.ShouldContain(o => Text(o["kind"]) == "ServiceMonitor", "the monitoring component, which the overlay lists");
        Image(dev, "emo-agents").ShouldBe("ghcr.io/eventmlops/emo-agents:0.1.1", "the overlay's images: retag");
        var controlPlane = renders[1].Objects.Single(o => Text(o["kind"]) == "Deployment" && Text(o["metadata"]?["name"]) == "emo-control-plane");
        controlPlane["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().ShouldContain(v => Text(v!["name"]) == "config");
    }

    [Fact]
    public async Task Given_a_kustomization_naming_a_missing_file_When_rendered_Then_kubectl_s_error_fails_it()
    {
        var failure = await Should.ThrowAsync<XunitException>(() => Kustomize.RenderAsync(Fixture("bad-render")));

        failure.Message.ShouldContain("kubectl kustomize");
        failure.Message.ShouldContain("missing.yaml");
    }

    [Fact]
    public async Task Given_no_kubectl_When_rendering_Then_the_failure_says_to_install_kubernetes_client()
    {
        var failure = await Should.ThrowAsync<XunitException>(() => Kustomize.RenderAsync(Fixture("good/overlays/dev"), kubectl: "/nonexistent/kubectl"));

        failure.Message.ShouldContain("install kubernetes-client");
    }

    [Fact]
    public void Given_YAML_as_kustomize_writes_it_When_read_Then_plain_scalars_are_typed_and_quoted_ones_stay_strings()
    {
        var obj = Kustomize.Objects("""
            a: 1
            b: "1"
            c: true
            d: 'true'
            e: 1.5
            f: null
            g: 0.1.0
            h: ~
            i: -3
            """).ShouldHaveSingleItem();

        obj.ToJsonString().ShouldBe("""{"a":1,"b":"1","c":true,"d":"true","e":1.5,"f":null,"g":"0.1.0","h":null,"i":-3}""");
    }

    // ---- schemas ----

    [Fact]
    public async Task Given_deploy_kubernetes_When_every_rendered_object_is_validated_Then_each_is_valid_against_its_schema()
    {
        SkipUntilTheManifestsExist();

        await RequireValidAsync(await RenderedAsync(Real));
    }

    [Fact]
    public async Task Given_the_fixture_tree_When_every_rendered_object_is_validated_Then_each_is_valid_including_the_operators_custom_resources()
    {
        var renders = await RenderedAsync(Fixture("good"));

        await RequireValidAsync(renders);
        renders[0].Objects.Select(o => Text(o["kind"])).Distinct().ShouldBe(
            ["Namespace", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Service", "Deployment", "Kafka", "KafkaNodePool", "KafkaTopic",
             "PodMonitor", "PrometheusRule", "ServiceMonitor", "NetworkPolicy", "Cluster", "RabbitmqCluster"], ignoreOrder: true);
    }

    [Fact]
    public async Task Given_objects_each_wrong_in_one_way_When_validated_Then_each_fails_and_only_the_valid_one_passes()
    {
        var objects = await Kustomize.RenderAsync(Fixture("bad-schema"));

        var results = await KubeSchema.ValidateAsync(objects);

        results.Where(r => r.Ok).Select(r => r.Name).ShouldBe(["valid"]);
        var errors = results.Where(r => !r.Ok).ToDictionary(r => r.Name!, r => r.Error!);
        errors.Keys.ShouldBe([
            "misspelled-field", "port-is-text", "partitions-is-text", "kafka-unknown-field", "node-pool-without-roles", "unknown-strimzi-kind",
            "rabbitmq-replicas-is-text", "monitor-without-selector", "postgres-instances-is-text", "scaledobject-without-target", "unknown-group",
        ], ignoreOrder: true);
        errors["misspelled-field"].ShouldContain("data/spec/replica is not a known field");
        errors["kafka-unknown-field"].ShouldContain("replicaz");
        errors["partitions-is-text"].ShouldContain("data/spec/partitions must be integer");
        errors["unknown-strimzi-kind"].ShouldContain("unknown kind KafkaWidget");
        errors["unknown-group"].ShouldContain("unknown apiVersion example.com/v1");
        errors["monitor-without-selector"].ShouldContain("selector");
        errors["postgres-instances-is-text"].ShouldContain("instances");
        errors["scaledobject-without-target"].ShouldContain("scaleTargetRef");
    }

    // ---- policies ----

    [Fact]
    public async Task Given_deploy_kubernetes_When_every_rendering_is_checked_Then_it_holds_to_every_policy()
    {
        SkipUntilTheManifestsExist();

        RequireCompliant(await RenderedAsync(Real));
    }

    [Fact]
    public async Task Given_the_fixture_tree_When_every_rendering_is_checked_Then_it_holds_to_every_policy()
    {
        RequireCompliant(await RenderedAsync(Fixture("good")));
    }

    public static TheoryData<string, string[]> Faults => new()
    {
        { nameof(DeployPolicy.RestrictedPodSecurity), ["Deployment eventmlops/privileged-untagged-unbounded"] },
        { nameof(DeployPolicy.PinnedImages), [
            "Deployment eventmlops/privileged-untagged-unbounded", "Deployment eventmlops/latest-image-and-literal-password",
            "RabbitmqCluster eventmlops/operator-image-untagged"] },
        { nameof(DeployPolicy.Resources), ["Deployment eventmlops/privileged-untagged-unbounded", "CronJob eventmlops/cronjob-without-cpu-request"] },
        { nameof(DeployPolicy.NoSecretValues), ["Secret eventmlops/secret-with-values", "Deployment eventmlops/latest-image-and-literal-password"] },
        { nameof(DeployPolicy.LeastPrivilege), [
            "ClusterRole cluster-wide", "ClusterRoleBinding cluster-wide", "Role eventmlops/wildcards", "Role default/role-elsewhere",
            "RoleBinding eventmlops/binds-cluster-admin"] },
        { nameof(DeployPolicy.NetworkPolicyCoverage), [
            "Service eventmlops/service-behind-egress-only-policy", "Service eventmlops/service-behind-too-narrow-policy"] },
        { nameof(DeployPolicy.RestrictedNamespace), [
            "Namespace eventmlops", "Role default/role-elsewhere", "ConfigMap default/configmap-elsewhere"] },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Given_objects_each_at_fault_When_a_policy_is_checked_Then_it_names_exactly_the_objects_at_fault(string policy, string[] offenders)
    {
        var objects = await Kustomize.RenderAsync(Fixture("bad-policy"));
        var check = typeof(DeployPolicy).GetMethod(policy)!;

        var violations = (IReadOnlyList<string>)check.Invoke(null, [objects])!;

        violations.Select(v => v[..v.IndexOf(": ", StringComparison.Ordinal)]).Distinct().ShouldBe(offenders, ignoreOrder: true, string.Join("\n", violations));
    }

    [Fact]
    public async Task Given_objects_at_fault_When_checked_Then_each_violation_says_why()
    {
        var violations = DeployPolicy.All(await Kustomize.RenderAsync(Fixture("bad-policy")));

        violations.ShouldContain("Deployment eventmlops/privileged-untagged-unbounded: container 'main' is privileged");
        violations.ShouldContain("Deployment eventmlops/privileged-untagged-unbounded: hostNetwork is true");
        violations.ShouldContain("Deployment eventmlops/privileged-untagged-unbounded: image 'busybox' has no tag");
        violations.ShouldContain("Deployment eventmlops/latest-image-and-literal-password: image 'ghcr.io/eventmlops/emo-agents:latest' uses the tag latest");
        violations.ShouldContain("CronJob eventmlops/cronjob-without-cpu-request: container 'main' has no requests.cpu");
        violations.ShouldContain(v => v.StartsWith("Deployment eventmlops/latest-image-and-literal-password: environment variable DB_PASSWORD has a literal value", StringComparison.Ordinal));
        violations.ShouldNotContain(v => v.Contains("Auth__SigningKeyFile") || v.Contains("API_TOKEN"), "a file's path and a secretKeyRef are no secret values");
        violations.ShouldContain("Role eventmlops/wildcards: rule 0 has '*' in verbs");
        violations.ShouldContain("Namespace eventmlops: pod-security.kubernetes.io/enforce is not 'restricted'");
        violations.ShouldNotContain(v => v.Contains("compliant"));
    }

    [Theory]
    [InlineData("ghcr.io/eventmlops/emo-agents:0.1.0", null)]
    [InlineData("localhost:5000/emo-agents:0.1.0", null)]
    [InlineData("localhost:5000/emo-agents", "has no tag")]
    [InlineData("emo-agents@sha256:0123", null)]
    [InlineData("emo-agents:latest", "uses the tag latest")]
    [InlineData("emo-agents:latest@sha256:0123", "uses the tag latest")]
    public void Given_an_image_reference_When_checked_Then_a_tag_or_digest_is_required_and_latest_refused(string image, string? problem) =>
        DeployPolicy.ImageProblem(image).ShouldBe(problem);

    private static string? Image(IEnumerable<JsonObject> objects, string deployment) =>
        Text(objects.Single(o => Text(o["kind"]) == "Deployment" && Text(o["metadata"]?["name"]) == deployment)["spec"]?["template"]?["spec"]?["containers"]?[0]?["image"]);

    private static async Task RequireValidAsync(IReadOnlyList<Rendering> renders)
    {
        var failures = new List<string>();
        foreach (var render in renders)
            failures.AddRange((await KubeSchema.ValidateAsync(render.Objects)).Where(r => !r.Ok)
                .Select(f => $"  {render.Name}: {f.Kind ?? "?"} {f.Name ?? "?"}: {f.Error}"));
        if (failures.Count > 0) throw new XunitException("rendered objects fail their schema:\n" + string.Join("\n", failures));
    }

    private static void RequireCompliant(IReadOnlyList<Rendering> renders)
    {
        var violations = renders.SelectMany(r => DeployPolicy.All(r.Objects).Select(v => $"  {r.Name}: {v}")).ToList();
        if (violations.Count > 0) throw new XunitException("rendered objects break the deployment's policies:\n" + string.Join("\n", violations));
    }
}
