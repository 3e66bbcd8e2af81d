using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Tests.Testing;
using EventMlOps.Agents.Training;
using k8s.Models;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>The agents' host with <c>Agents:Runtime=kubernetes</c>, connected by a kubeconfig file to the API server
/// double: a run requested on the control plane becomes a batch/v1 Job there, and what its pod says reaches the run.</summary>
public sealed class KubernetesAgentsHostTests(AgentsFixture fx)
{
    [Fact]
    public async Task Given_agents_on_kubernetes_When_a_run_is_requested_Then_its_Job_is_created_in_the_cluster_and_an_unschedulable_pod_is_the_runs_waiting_reason()
    {
        await using var server = await ApiServerDouble.StartAsync();
        var kubeconfig = await KubeconfigAsync(server);
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
    }

    [Fact]
    public async Task Given_agents_on_kubernetes_When_the_write_of_a_new_Jobs_Secret_fails_once_Then_the_retried_order_writes_it_and_the_pod_can_start()
    {
        await using var server = await ApiServerDouble.StartAsync();
        var kubeconfig = await KubeconfigAsync(server);
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync("emo-train", "--Agents:Runtime=kubernetes", $"--Kubernetes:Kubeconfig={kubeconfig}", $"--Kubernetes:Namespace={DoubleCluster.Ns}");
        var (dataset, _, _) = await lab.RegisterFileDatasetAsync("1\t2\t5\n");
        server.FailNext("PATCH", "/secrets/"); // the Job is created, then the API server is briefly away

        var runId = await lab.RequestRunAsync(dataset, new() { ["epochs"] = 2 });

        // Its pod refers to the Secret (the run's token): without it, it waits in CreateContainerConfigError until its deadline.
        var name = TrainingRuns.JobName(runId);
        var secret = await DoubleCluster.EventuallyAsync(() => Task.FromResult(server.Get<V1Secret>(DoubleCluster.Ns, name)), s => s is not null, "the Job's Secret", seconds: 20);
        secret!.Metadata.OwnerReferences.ShouldHaveSingleItem().Uid.ShouldBe(server.Get<V1Job>(DoubleCluster.Ns, name)!.Metadata.Uid);
        server.Requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/jobs")).ShouldBe(2, "the retry found the Job (409) and created none");
    }

    /// <summary>A kubeconfig file that points at the double.</summary>
    private async Task<string> KubeconfigAsync(ApiServerDouble server)
    {
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
        return kubeconfig;
    }
}
