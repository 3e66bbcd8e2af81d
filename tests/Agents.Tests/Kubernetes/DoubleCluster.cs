using System.Diagnostics;
using System.Text.Json.Nodes;
using EventMlOps.Agents.Kubernetes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>The real <see cref="KubeCluster"/> (client and watched caches) on the API server double, and what tests do
/// as kubelet and the controllers: pods of a workload, their status, waiting until the runtime sees a change.</summary>
public sealed class DoubleCluster : IAsyncDisposable
{
    public const string Ns = "emo-test";

    private DoubleCluster(ApiServerDouble server, KubeCluster cluster) => (Server, Cluster) = (server, cluster);

    public ApiServerDouble Server { get; }

    public KubeCluster Cluster { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A cluster whose watches run (started as the host starts it), on <paramref name="server"/>.</summary>
    public static async Task<DoubleCluster> StartAsync(ApiServerDouble server)
    {
        var cluster = new KubeCluster(server.Client(), Ns, KubernetesOptions.From(new ConfigurationBuilder().Build()), inCluster: false, NullLoggerFactory.Instance);
        await cluster.StartAsync(Ct);
        return new DoubleCluster(server, cluster);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAsync(CancellationToken.None);
        Cluster.Dispose();
        Cluster.Client.Dispose();
    }

    /// <summary>A pod of <paramref name="owner"/> as its controller creates it: labelled with the workload's instance and
    /// the agents' label (as the pod template has them), owned by it, with the runtime's one container.</summary>
    public V1Pod PodOf(IKubernetesObject<V1ObjectMeta> owner, string name, V1PodStatus? status = null) => PodOf(Server, owner, name, status);

    /// <inheritdoc cref="PodOf(IKubernetesObject{V1ObjectMeta}, string, V1PodStatus?)"/>
    public static V1Pod PodOf(ApiServerDouble server, IKubernetesObject<V1ObjectMeta> owner, string name, V1PodStatus? status = null) => server.Put(new V1Pod
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = Ns,
            Labels = new Dictionary<string, string>
            {
                [KubeObjects.InstanceLabel] = owner.Metadata.Name,
                [KubeObjects.ManagedByLabel] = KubernetesOptions.FieldManager,
                [KubeObjects.ComponentLabel] = KubeObjects.Label(owner.Metadata, KubeObjects.ComponentLabel) ?? KubeObjects.Training,
            },
            OwnerReferences = [new V1OwnerReference { ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, Controller = true }],
        },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = KubeObjects.Container, Image = "emo/trainer:1" }] },
        Status = status,
    });

    /// <summary>Kubelet's (or a controller's) write of a new status.</summary>
    public void SetStatus<T>(string name, object status) where T : IKubernetesObject<V1ObjectMeta> => SetStatus<T>(Server, name, status);

    /// <inheritdoc cref="SetStatus{T}(string, object)"/>
    public static void SetStatus<T>(ApiServerDouble server, string name, object status) where T : IKubernetesObject<V1ObjectMeta> =>
        server.UpdateStatus<T>(Ns, name, o => o["status"] = JsonNode.Parse(KubernetesJson.Serialize(status)));

    /// <summary>The object of <paramref name="deployment"/>'s name that the Deployment owns (garbage-collected with it).</summary>
    public static T Owned<T>(ApiServerDouble server, V1Deployment deployment) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var obj = server.Get<T>(Ns, deployment.Metadata.Name).ShouldNotBeNull(typeof(T).Name);
        obj.Metadata.OwnerReferences.ShouldHaveSingleItem().ShouldSatisfyAllConditions(
            r => r.Uid.ShouldBe(deployment.Metadata.Uid), r => r.Kind.ShouldBe("Deployment"), r => r.Name.ShouldBe(deployment.Metadata.Name));
        return obj;
    }

    /// <summary>A kubeconfig file (in <paramref name="folder"/>) that points a client at <paramref name="server"/>, as an
    /// operator's points the agents at their cluster: what <c>Kubernetes:Kubeconfig</c> is given.</summary>
    public static Task<string> KubeconfigAsync(ApiServerDouble server, string folder) => KubeconfigAsync(server.Url, folder);

    /// <summary>A kubeconfig file for the API server at <paramref name="server"/>.</summary>
    public static async Task<string> KubeconfigAsync(string server, string folder)
    {
        var file = Path.Combine(folder, $"kubeconfig-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: double
              cluster:
                server: {server}
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
            """, Ct);
        return file;
    }

    /// <summary>What <paramref name="read"/> returns once <paramref name="until"/> holds (the runtime reads its watched
    /// caches, which the watch brings up to date a moment after the change); fails after a few seconds.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> until, string what, double seconds = 10)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (until(value)) return value;
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"not {what} within {seconds} s; last seen: {value}");
            await Task.Delay(50, Ct);
        }
    }

    public static V1PodStatus Running(DateTime startedAt) => new()
    {
        Phase = "Running",
        StartTime = startedAt,
        Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "True" }],
        ContainerStatuses = [new V1ContainerStatus
        {
            Name = KubeObjects.Container, Image = "emo/trainer:1", ImageID = "", Ready = true, RestartCount = 0,
            State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = startedAt } },
        }],
    };

    public static V1PodStatus Terminated(string phase, int exitCode, string reason) => new()
    {
        Phase = phase,
        ContainerStatuses = [new V1ContainerStatus
        {
            Name = KubeObjects.Container, Image = "emo/trainer:1", ImageID = "", Ready = false, RestartCount = 0,
            State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Reason = reason } },
        }],
    };
}
