using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Tests.Testing;
using EventMlOps.Agents.Training;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>The agents' host with <c>Agents:Runtime=kubernetes</c>, connected by a kubeconfig file to the API server
/// double: a run requested on the control plane becomes a batch/v1 Job there, and what its pod says reaches the run; an
/// endpoint rolled out on the control plane becomes a Deployment (with its Service, budget, autoscaler and token Secret),
/// what the Deployment controller and kubelet do to its pods (played by the test) becomes the endpoint's replicas, and
/// deleting the endpoint scales it to zero.</summary>
public sealed class KubernetesAgentsHostTests(AgentsFixture fx)
{
    private const string Ns = DoubleCluster.Ns;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_agents_on_kubernetes_When_a_run_is_requested_Then_its_Job_is_created_in_the_cluster_and_an_unschedulable_pod_is_the_runs_waiting_reason()
    {
        await using var server = await ApiServerDouble.StartAsync();
        var kubeconfig = await DoubleCluster.KubeconfigAsync(server, fx.Scratch);
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
        // A port nothing listens on (taken and released): the API server is down.
        var kubeconfig = await DoubleCluster.KubeconfigAsync($"http://127.0.0.1:{EventMlOps.Hosting.LoopbackPort.Choose(null)}", fx.Scratch);
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync("emo-train", "--Agents:Runtime=kubernetes", $"--Kubernetes:Kubeconfig={kubeconfig}", $"--Kubernetes:Namespace={DoubleCluster.Ns}");

        (await ReadinessAsync(lab.Agent!)).ShouldBe($"Unhealthy: the Kubernetes API server has not listed the agents' jobs, pods and deployments in {DoubleCluster.Ns} yet");
    }

    private static async Task<string> ReadinessAsync(IHost agents)
    {
        using var http = new HttpClient { BaseAddress = new Uri(agents.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
        return await (await http.GetAsync("/health/ready", TrainingLab.Ct)).Content.ReadAsStringAsync(TrainingLab.Ct);
    }

    [Fact]
    public async Task Given_agents_on_kubernetes_When_a_version_is_rolled_out_and_kubelet_starts_restarts_and_loses_its_pods_Then_the_endpoint_lists_them_as_replicas_started_waiting_restarted_and_stopped()
    {
        await using var serving = await ServingWorld.StartAsync(fx);

        var deployment = await serving.RolledOutAsync();

        // What the agent applied: the Deployment at the endpoint's revision and what it owns, with a token from the control plane.
        var name = deployment.Metadata.Name;
        var secret = serving.Owned<V1Secret>(deployment);
        var replica = await fx.Tokens.AuthenticateAsync(secret.StringData[KubernetesServingRuntime.TokenKey]);
        (replica.Endpoint, replica.Name, replica.Roles.Count).ShouldBe((serving.Endpoint, name, 0), "the replicas' own token: their endpoint only, no role");
        deployment.Metadata.Annotations.ShouldContainKey(KubernetesServingRuntime.TokenIssuedAnnotation);
        serving.Owned<V1Service>(deployment).Spec.Selector[KubeObjects.InstanceLabel].ShouldBe(name);
        serving.Owned<V1PodDisruptionBudget>(deployment);
        var autoscaler = serving.Owned<V2HorizontalPodAutoscaler>(deployment);
        (autoscaler.Spec.MinReplicas, autoscaler.Spec.MaxReplicas).ShouldBe((1, 3));
        deployment.Spec.Replicas.ShouldBeNull("the autoscaler owns the count");
        var container = deployment.Spec.Template.Spec.Containers.ShouldHaveSingleItem();
        container.Image.ShouldBe("emo-serve");
        container.Command.ShouldBe(["emo-serve"]);
        container.Args.ShouldContain(serving.Endpoint);

        // The Deployment controller creates a pod, kubelet runs it and its readiness probe passes.
        var a = name + "-7d9f8-a1b2c";
        var started = new DateTime(2025, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        DoubleCluster.PodOf(serving.Server, deployment, a, ServingPod(started, ready: true));
        var first = await serving.ReplicaAsync(a, r => r.LastChange == ReplicaChange.Started);
        (first.Runtime, first.Restarts, first.LastReason).ShouldBe(("kubernetes", 0, (string?)null));
        first.Url.ShouldBe($"{serving.Server.Url}/api/v1/namespaces/{Ns}/pods/{a}:8080/proxy/");

        // A second pod (the autoscaler scaled out) whose image cannot be pulled.
        var b = name + "-7d9f8-d3e4f";
        DoubleCluster.PodOf(serving.Server, deployment, b, new V1PodStatus
        {
            Phase = "Pending",
            Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "True" }, new V1PodCondition { Type = "Ready", Status = "False" }],
            ContainerStatuses = [Container(ready: false, restarts: 0, new V1ContainerState
            {
                Waiting = new V1ContainerStateWaiting { Reason = "ImagePullBackOff", Message = "Back-off pulling image \"emo-serve\"" },
            })],
        });
        (await serving.ReplicaAsync(b, r => r.LastChange == ReplicaChange.Waiting)).LastReason.ShouldBe("ImagePullBackOff: Back-off pulling image \"emo-serve\"");

        // The first pod's container is killed for its memory; kubelet restarts it (not ready until its probe passes again).
        var killed = new V1ContainerStateTerminated { ExitCode = 137, Reason = "OOMKilled", StartedAt = started, FinishedAt = started.AddMinutes(5) };
        DoubleCluster.SetStatus<V1Pod>(serving.Server, a, ServingPod(started, ready: false, restarts: 1, killed));
        var restarted = await serving.ReplicaAsync(a, r => r.LastChange == ReplicaChange.Restarted);
        (restarted.LastReason, restarted.LastExitCode, restarted.Restarts).ShouldBe(("OOMKilled, exit code 137", (int?)137, 1));

        // Ready again after its restart; then the second pod's image is pulled and it becomes ready.
        DoubleCluster.SetStatus<V1Pod>(serving.Server, a, ServingPod(started, ready: true, restarts: 1, killed));
        DoubleCluster.SetStatus<V1Pod>(serving.Server, b, ServingPod(started.AddMinutes(1), ready: true));
        await serving.ReplicaAsync(b, r => r.LastChange == ReplicaChange.Started);

        // The first pod is deleted (scaled in, or its node drained).
        serving.Server.Delete<V1Pod>(Ns, a).ShouldBeTrue();
        var stopped = await serving.ReplicaAsync(a, r => r.LastChange == ReplicaChange.Stopped);
        (stopped.LastReason, stopped.Restarts).ShouldBe(("the pod is gone (scaled down, or replaced)", 1));
        (await serving.ReplicaChangesAsync(a)).ShouldBe([ReplicaChange.Started, ReplicaChange.Restarted, ReplicaChange.Stopped],
            "becoming ready again after a restart is no new start: the restart stays on the replica");
        (await serving.DeadLettersAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_an_endpoint_served_on_kubernetes_When_it_is_deleted_on_the_control_plane_Then_its_Deployment_is_scaled_to_zero_and_marked_the_rest_removed_and_its_pods_stop_for_that_reason()
    {
        await using var serving = await ServingWorld.StartAsync(fx);
        var deployment = await serving.RolledOutAsync();
        var name = deployment.Metadata.Name;
        var pod = name + "-5c6d7-x9y8z";
        DoubleCluster.PodOf(serving.Server, deployment, pod, ServingPod(DateTime.UtcNow, ready: true));
        await serving.ReplicaAsync(pod, r => r.LastChange == ReplicaChange.Started);

        await serving.DeleteAsync("replaced by the ranking service");

        var view = await serving.ViewAsync();
        view.Deleted.ShouldBeTrue();
        // The token Secret is what the agent deletes last.
        await DoubleCluster.EventuallyAsync(() => Task.FromResult(serving.Server.Get<V1Secret>(Ns, name)), s => s is null, "the token Secret deleted");
        var kept = serving.Server.Get<V1Deployment>(Ns, name).ShouldNotBeNull();
        kept.Metadata.Uid.ShouldBe(deployment.Metadata.Uid, "kept, at zero, to remember the revision of its deletion");
        kept.Spec.Replicas.ShouldBe(0);
        kept.Metadata.Annotations[KubernetesServingRuntime.DeletedAnnotation].ShouldBe(view.Revision.ToString());
        kept.Metadata.Annotations[KubernetesServingRuntime.RevisionAnnotation].ShouldBe(view.Revision.ToString());
        serving.Server.Get<V1Service>(Ns, name).ShouldBeNull();
        serving.Server.Get<V2HorizontalPodAutoscaler>(Ns, name).ShouldBeNull();
        serving.Server.Get<V1PodDisruptionBudget>(Ns, name).ShouldBeNull();

        // The Deployment controller removes the pod of a Deployment at zero.
        serving.Server.Delete<V1Pod>(Ns, pod).ShouldBeTrue();
        var stopped = await serving.ReplicaAsync(pod, r => r.LastChange == ReplicaChange.Stopped);
        stopped.LastReason.ShouldBe("the endpoint was deleted");
        (await serving.DeadLettersAsync()).ShouldBeEmpty();
    }

    private static V1PodStatus ServingPod(DateTime startedAt, bool ready, int restarts = 0, V1ContainerStateTerminated? last = null) => new()
    {
        Phase = "Running",
        StartTime = startedAt,
        PodIP = "10.244.1.17",
        Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "True" }, new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
        ContainerStatuses = [Container(ready, restarts, new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = startedAt } }, last)],
    };

    private static V1ContainerStatus Container(bool ready, int restarts, V1ContainerState state, V1ContainerStateTerminated? last = null) => new()
    {
        Name = KubeObjects.Container, Image = "emo-serve", ImageID = "", Ready = ready, RestartCount = restarts, State = state,
        LastState = last is null ? null : new V1ContainerState { Terminated = last },
    };

    /// <summary>One test's serving world: the API server double, agents on it (<c>Agents:Runtime=kubernetes</c>), a model
    /// with an approved version and an endpoint of one to three replicas, driven over the control plane's HTTP API by olga
    /// (operator) and read by victor (viewer).</summary>
    private sealed class ServingWorld(AgentsFixture fx, ApiServerDouble server, WebApplication agents) : IAsyncDisposable
    {
        private readonly HttpClient _operator = fx.Client(Roles.Operator, "olga"), _viewer = fx.Client(Roles.Viewer, "victor");

        public ApiServerDouble Server => server;

        public string Model { get; } = "rec-" + Guid.NewGuid().ToString("N")[..8];

        public string Endpoint => Model + "-ep";

        public static async Task<ServingWorld> StartAsync(AgentsFixture fx)
        {
            var server = await ApiServerDouble.StartAsync();
            var kubeconfig = await DoubleCluster.KubeconfigAsync(server, fx.Scratch);
            var agents = await fx.StartAgentAsync(Path.Combine(fx.Scratch, "agent-" + Guid.NewGuid().ToString("N")[..8]), "emo-train",
                "--Agents:Runtime=kubernetes", $"--Kubernetes:Kubeconfig={kubeconfig}", $"--Kubernetes:Namespace={Ns}", "--Agents:SuperviseMilliseconds=100");
            return new ServingWorld(fx, server, agents);
        }

        /// <summary>Version 1 of the model, approved, and the endpoint serving it at once (an immediate rollout); returns the
        /// Deployment once the agent applied the endpoint's current revision. The version is appended to the registry's
        /// streams as its own events (registered by alice, approved by bob): registering one through the API needs a
        /// training run, which is not what this is about.</summary>
        public async Task<V1Deployment> RolledOutAsync()
        {
            await using (var session = fx.Store.LightweightSession())
            {
                session.Events.StartStream<ModelVersion>(StreamKeys.ModelVersion(Model, 1),
                    new ModelVersionRegistered(Model, 1, Guid.NewGuid(), new ModelArtifact($"s3://models/{Model}/1/model.onnx", new string('a', 64)), Guid.NewGuid(),
                        new string('b', 64), new Dictionary<string, double> { ["hr@10"] = 0.7 }, "alice", DateTimeOffset.UtcNow),
                    new ModelVersionApproved(Model, 1, "bob", "four eyes", DateTimeOffset.UtcNow));
                await session.SaveChangesAsync(Ct);
            }
            await OkAsync("/api/endpoints", new CreateEndpoint(Guid.NewGuid(), Endpoint, Model, MinReplicas: 1, MaxReplicas: 3));
            await OkAsync("/api/endpoints/rollout", new RollOut(Guid.NewGuid(), Endpoint, 1, RolloutStrategy.Immediate));
            var revision = (await ViewAsync()).Revision.ToString();
            var name = LocalServingRuntime.ReplicaName(Endpoint);
            // The autoscaler is what the agent applies last.
            await DoubleCluster.EventuallyAsync(() => Task.FromResult(server.Get<V2HorizontalPodAutoscaler>(Ns, name)), h => h is not null, "the autoscaler");
            return (await DoubleCluster.EventuallyAsync(() => Task.FromResult(server.Get<V1Deployment>(Ns, name)),
                d => d?.Metadata.Annotations is { } a && a.TryGetValue(KubernetesServingRuntime.RevisionAnnotation, out var at) && at == revision,
                $"the Deployment at revision {revision}"))!;
        }

        public Task DeleteAsync(string reason) => OkAsync("/api/endpoints/delete", new DeleteEndpoint(Guid.NewGuid(), Endpoint, reason));

        public Task<EndpointView> ViewAsync() => _viewer.Get<EndpointView>($"/api/endpoints/{Endpoint}");

        /// <summary>The replica as the endpoint's view lists it, once <paramref name="until"/> holds.</summary>
        public async Task<ReplicaState> ReplicaAsync(string pod, Func<ReplicaState, bool> until) =>
            (await DoubleCluster.EventuallyAsync(async () => (await ViewAsync()).Replicas?.FirstOrDefault(r => r.Name == pod),
                r => r is not null && until(r), $"replica {pod} as expected"))!;

        /// <summary>The changes of one replica recorded on the endpoint's stream, in order.</summary>
        public async Task<IReadOnlyList<ReplicaChange>> ReplicaChangesAsync(string pod)
        {
            await using var session = fx.Store.QuerySession();
            return (await session.Events.FetchStreamAsync(StreamKeys.Endpoint(Endpoint), token: Ct))
                .Select(e => e.Data).OfType<EndpointReplicaChanged>().Where(e => e.Replica == pod).Select(e => e.Change).ToList();
        }

        /// <summary>The control plane's refusals of this endpoint's facts: an agent that reports correctly causes none.</summary>
        public Task<IReadOnlyList<string>> DeadLettersAsync() => fx.DeadLettersAboutAsync(Endpoint);

        /// <summary>An object the Deployment owns (garbage-collected with it).</summary>
        public T Owned<T>(V1Deployment deployment) where T : class, k8s.IKubernetesObject<V1ObjectMeta> => DoubleCluster.Owned<T>(server, deployment);

        private async Task OkAsync(string route, object body)
        {
            using var response = await _operator.Send(route, body);
            response.IsSuccessStatusCode.ShouldBeTrue($"{route}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        }

        public async ValueTask DisposeAsync()
        {
            await agents.StopAsync(CancellationToken.None);
            await agents.DisposeAsync();
            await server.DisposeAsync();
            _operator.Dispose();
            _viewer.Dispose();
        }
    }

    [Fact]
    public async Task Given_agents_on_kubernetes_When_the_write_of_a_new_Jobs_Secret_fails_once_Then_the_retried_order_writes_it_and_the_pod_can_start()
    {
        await using var server = await ApiServerDouble.StartAsync();
        var kubeconfig = await DoubleCluster.KubeconfigAsync(server, fx.Scratch);
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
        // Created suspended, it stays so until its Secret is there: then the retry resumes it.
        (await DoubleCluster.EventuallyAsync(() => Task.FromResult(server.Get<V1Job>(DoubleCluster.Ns, name)), j => j!.Spec.Suspend == false, "the Job resumed", seconds: 20))
            .ShouldNotBeNull();
    }
}
