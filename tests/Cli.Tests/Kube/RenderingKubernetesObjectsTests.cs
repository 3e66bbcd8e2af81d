using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;
using k8s;
using k8s.Models;

namespace EventMlOps.Cli.Tests.Kube;

public sealed class RenderingKubernetesObjectsTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_no_option_When_rendered_Then_a_GPU_training_Job_and_an_autoscaled_endpoint_are_printed_without_secret_values()
    {
        var rendered = (await cp.As("olivia", Roles.Operator).RunAsync("kube", "render")).ShouldSucceed().Out;

        var objects = KubernetesYaml.LoadAllFromString(rendered);
        objects.Select(o => ((IKubernetesObject)o).Kind).ShouldBe(["Job", "Secret", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Secret"]);
        var job = objects.OfType<V1Job>().Single();
        job.Spec.Template.Spec.Containers.Single().Resources.Limits["nvidia.com/gpu"].ToString().ShouldBe("1");
        objects.OfType<V2HorizontalPodAutoscaler>().Single().Spec.MaxReplicas.ShouldBe(3);
        objects.OfType<V1Secret>().SelectMany(s => s.StringData.Values).ShouldAllBe(v => v == "");
    }

    [Fact]
    public async Task Given_a_run_and_an_endpoint_When_rendered_Then_their_own_objects_are_printed()
    {
        var lifecycle = new Lifecycle(cp);
        var (dataset, _) = await lifecycle.DatasetAsync();
        var run = (await lifecycle.Alice.RunAsync("train", "recommender", "--detach", "--model", lifecycle.Model, "--dataset", dataset.ToString(),
            "--param", "epochs=2", "--json")).ShouldSucceed().StreamId();
        var ops = cp.As("olivia", Roles.Operator);
        var endpoint = "ep-" + Guid.NewGuid().ToString("N")[..10];
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", await cp.SeedModelAsync("m-" + endpoint), "--min", "2", "--max", "2")).ShouldSucceed();

        var job = KubernetesYaml.LoadAllFromString((await ops.RunAsync("kube", "render", "--run", run.ToString())).ShouldSucceed().Out).OfType<V1Job>().Single();
        var deployment = KubernetesYaml.LoadAllFromString((await ops.RunAsync("kube", "render", "--endpoint", endpoint)).ShouldSucceed().Out);

        job.Metadata.Name.ShouldBe($"train-{run:N}");
        job.Spec.Template.Spec.Containers.Single().Args.ShouldContain("--epochs");
        job.Spec.Template.Spec.Containers.Single().Resources.Limits.ShouldNotContainKey("nvidia.com/gpu");
        deployment.OfType<V1Deployment>().Single().Spec.Replicas.ShouldBe(2);
        deployment.OfType<V2HorizontalPodAutoscaler>().ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_an_unknown_run_When_rendered_Then_it_fails_clearly()
    {
        var result = await cp.As("olivia", Roles.Operator).RunAsync("kube", "render", "--run", Guid.NewGuid().ToString());

        result.ExitCode.ShouldNotBe(0);
        result.Err.ShouldNotBeEmpty();
    }
}
