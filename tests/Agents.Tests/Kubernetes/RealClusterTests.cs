using System.Text;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>The job runtime against a real cluster, where one is configured: <c>EMO_KUBE_TESTS=1</c> with <c>KUBECONFIG</c>
/// (namespace <c>EMO_KUBE_NAMESPACE</c>, default <c>emo-tests</c>, which must exist; image <c>EMO_KUBE_TEST_IMAGE</c>, default
/// <c>busybox:1.36</c>). Real kubelets and controllers play what the double's tests play by hand. Skipped elsewhere: no
/// API server can run on these machines.</summary>
public sealed class RealClusterTests : IAsyncLifetime
{
    private KubeCluster? _cluster;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Image => Environment.GetEnvironmentVariable("EMO_KUBE_TEST_IMAGE") is { Length: > 0 } image ? image : "busybox:1.36";

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("EMO_KUBE_TESTS") != "1" || Environment.GetEnvironmentVariable("KUBECONFIG") is not { Length: > 0 }) return;
        var options = KubernetesOptions.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kubernetes:Namespace"] = Environment.GetEnvironmentVariable("EMO_KUBE_NAMESPACE") is { Length: > 0 } ns ? ns : "emo-tests",
            ["Agents:CancelGraceSeconds"] = "2",
        }).Build());
        var (client, space, inCluster) = KubeCluster.Connect(options);
        _cluster = new KubeCluster(client, space, options, inCluster, NullLoggerFactory.Instance);
        await _cluster.StartAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is null) return;
        await _cluster.StopAsync(CancellationToken.None);
        _cluster.Dispose();
    }

    private KubernetesJobRuntime Runtime()
    {
        Assert.SkipWhen(_cluster is null, "no cluster configured (EMO_KUBE_TESTS=1 and KUBECONFIG run these against a real one)");
        return new KubernetesJobRuntime(_cluster!);
    }

    private static JobSpec Job(string script) => new($"emo-it-{Guid.NewGuid():N}"[..30], Image, "sh", ["-c", script],
        new Dictionary<string, string> { ["GREETING"] = "hello" }, new Dictionary<string, string> { ["SECRET_WORD"] = "swordfish" },
        new JobResources(0, 64, 0), new Dictionary<string, string> { ["eventmlops.io/component"] = "training", ["eventmlops.io/run-id"] = "it" });

    private static async Task<JobObservation> UntilAsync(KubernetesJobRuntime runtime, string name, Func<JobObservation, bool> done)
    {
        for (var deadline = DateTime.UtcNow.AddMinutes(3); ; await Task.Delay(500, Ct))
        {
            var observed = await runtime.ObserveAsync(name, Ct);
            if (done(observed)) return observed;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{name}: still {observed.Phase} ({observed.Waiting ?? observed.Message})");
        }
    }

    [Fact]
    public async Task Given_a_real_cluster_When_a_job_runs_Then_it_succeeds_with_its_log_and_its_secret_and_is_deleted_with_them()
    {
        var runtime = Runtime();
        var spec = Job("echo \"$GREETING $SECRET_WORD\"");

        await runtime.SubmitAsync(spec, Ct);
        var done = await UntilAsync(runtime, spec.Name, j => j.IsFinished);

        done.Phase.ShouldBe(JobPhase.Succeeded, done.Message);
        done.ExitCode.ShouldBe(0);
        var log = await runtime.ReadLogAsync(spec.Name, 0, 4096, Ct);
        Encoding.UTF8.GetString(log.Bytes).ShouldContain("hello swordfish");
        await runtime.DeleteAsync(spec.Name, Ct);
        (await UntilAsync(runtime, spec.Name, j => j.Phase == JobPhase.Missing)).Phase.ShouldBe(JobPhase.Missing);
    }

    [Fact]
    public async Task Given_a_real_cluster_When_a_running_job_is_cancelled_Then_it_fails_cancelled()
    {
        var runtime = Runtime();
        var spec = Job("sleep 600");

        await runtime.SubmitAsync(spec, Ct);
        await UntilAsync(runtime, spec.Name, j => j.Phase == JobPhase.Running);
        await runtime.CancelAsync(spec.Name, Ct);
        var cancelled = await UntilAsync(runtime, spec.Name, j => j.IsFinished);

        cancelled.Cancelled.ShouldBeTrue();
        cancelled.Phase.ShouldBe(JobPhase.Failed);
        await runtime.DeleteAsync(spec.Name, Ct);
    }

    [Fact]
    public async Task Given_a_real_cluster_When_a_job_asks_for_a_GPU_no_node_has_Then_it_waits_saying_why()
    {
        var runtime = Runtime();
        var spec = Job("true") with { Resources = new JobResources(0, 64, 64) };

        await runtime.SubmitAsync(spec, Ct);
        var waiting = await UntilAsync(runtime, spec.Name, j => j.Waiting is not null);

        waiting.Waiting!.ShouldStartWith("Unschedulable");
        await runtime.DeleteAsync(spec.Name, Ct);
    }
}
