using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Tests.Testing;
using EventMlOps.Agents.Training;
using k8s.Models;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>The agents' host with <c>Agents:Runtime=kubernetes</c>, connected by a kubeconfig file to the API server
/// double: a run requested on the control plane becomes a batch/v1 Job there, and what its pod says reaches the run.</summary>
public sealed class KubernetesAgentsHostTests(AgentsFixture fx)
{
    [Fact]
    public async Task Given_agents_on_kubernetes_When_a_run_is_requested_Then_its_Job_is_created_in_the_cluster_and_an_unschedulable_pod_is_the_runs_waiting_reason()
    {
        await using var server = await ApiServerDouble.StartAsync();
        var kubeconfig = Path.Combine(fx.Scratch, $"kubeconfig-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: double
              cluster:
                server: {server.Url}
                insecure-skip-tls-verify: true
            users:
            - name: agents
              user:
                token: not-checked-by-the-double
            contexts:
            - name: double
              context:
                cluster: double
                user: agents
            current-context: double
            """, TrainingLab.Ct);
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync("emo-train", "--Agents:Runtime=kubernetes", $"--Kubernetes:Kubeconfig={kubeconfig}", $"--Kubernetes:Namespace={DoubleCluster.Ns}");
        var (dataset, _, _) = await lab.RegisterFileDatasetAsync("1\t2\t5\n");

        var runId = await lab.RequestRunAsync(dataset, new() { ["epochs"] = 2 });

        var name = TrainingRuns.JobName(runId);
        var job = await DoubleCluster.EventuallyAsync(() => Task.FromResult(server.Get<V1Job>(DoubleCluster.Ns, name)), j => j is not null, "a Job");
        job!.Metadata.Labels[TrainingRuns.RunIdLabel].ShouldBe(runId.ToString("N"));
        job.Spec.Template.Spec.Containers.ShouldHaveSingleItem().Command.ShouldBe(["emo-train"]);
        await lab.WaitForAsync(runId, r => r.JobName == name, "submitted");

        server.Put(new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = name + "-q8z4w", NamespaceProperty = DoubleCluster.Ns,
                Labels = new Dictionary<string, string> { [KubeObjects.InstanceLabel] = name, [KubeObjects.ManagedByLabel] = "emo-agents" },
                OwnerReferences = [new V1OwnerReference { ApiVersion = "batch/v1", Kind = "Job", Name = name, Uid = job.Metadata.Uid, Controller = true }],
            },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = KubeObjects.Container, Image = job.Spec.Template.Spec.Containers[0].Image }] },
            Status = new V1PodStatus
            {
                Phase = "Pending",
                Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available: 3 Insufficient memory." }],
            },
        });

        var waiting = await lab.WaitForAsync(runId, r => r.WaitingReason is not null, "waiting");
        waiting.WaitingReason.ShouldBe("Unschedulable: 0/3 nodes are available: 3 Insufficient memory.");
        (await ReadinessAsync(lab.Agent!)).ShouldBe("Healthy");
    }

    [Fact]
    public async Task Given_agents_on_kubernetes_When_the_API_server_does_not_answer_Then_they_are_not_ready_and_say_why()
    {
        var kubeconfig = Path.Combine(fx.Scratch, $"kubeconfig-{Guid.NewGuid():N}.yaml");
        // A port nothing listens on (taken and released): the API server is down.
        var port = EventMlOps.Hosting.LoopbackPort.Choose(null);
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: down
              cluster:
                server: http://127.0.0.1:{port}
            users:
            - name: agents
              user:
                token: t
            contexts:
            - name: down
              context:
                cluster: down
                user: agents
            current-context: down
            """, TrainingLab.Ct);
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync("emo-train", "--Agents:Runtime=kubernetes", $"--Kubernetes:Kubeconfig={kubeconfig}", $"--Kubernetes:Namespace={DoubleCluster.Ns}");

        (await ReadinessAsync(lab.Agent!)).ShouldBe($"Unhealthy: the Kubernetes API server has not listed the agents' jobs, pods and deployments in {DoubleCluster.Ns} yet");
    }

    private static async Task<string> ReadinessAsync(IHost agents)
    {
        using var http = new HttpClient { BaseAddress = new Uri(agents.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
        return await (await http.GetAsync("/health/ready", TrainingLab.Ct)).Content.ReadAsStringAsync(TrainingLab.Ct);
    }
}
