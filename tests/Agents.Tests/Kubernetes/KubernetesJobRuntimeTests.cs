using System.Text;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Training;
using k8s;
using k8s.Models;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>
/// Training jobs as batch/v1 Jobs: what <see cref="KubernetesJobRuntime"/> writes to the API server (through the real
/// KubernetesClient and the real watched caches of <see cref="KubeCluster"/>) and what it observes when the tests play the
/// Job controller and kubelet on the double. Observations come from the watch, so a test waits until the change arrived.
/// </summary>
public sealed class KubernetesJobRuntimeTests : IAsyncLifetime
{
    private const string Ns = DoubleCluster.Ns;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ApiServerDouble _server = null!;
    private DoubleCluster _world = null!;
    private KubernetesJobRuntime _runtime = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ApiServerDouble.StartAsync();
        _world = await DoubleCluster.StartAsync(_server);
        _runtime = new KubernetesJobRuntime(_world.Cluster, logTailLines: 2);
    }

    public async ValueTask DisposeAsync()
    {
        await _world.DisposeAsync();
        await _server.DisposeAsync();
    }

    private static string Name() => $"train-{Guid.NewGuid():N}";

    private static JobSpec Spec(string name, JobResources? resources = null, Dictionary<string, string>? labels = null, Dictionary<string, string>? secrets = null) =>
        new(name, "emo/trainer:1", "emo-train", ["--epochs", "2"], new Dictionary<string, string> { ["EMO_MODEL"] = "rec" },
            secrets ?? new Dictionary<string, string>(), resources ?? new JobResources(2, 1024, 0),
            labels ?? new Dictionary<string, string> { [TrainingRuns.RunIdLabel] = name["train-".Length..] });

    private Task<JobObservation> ObservedAsync(string name, Func<JobObservation, bool> until, string what) =>
        DoubleCluster.EventuallyAsync(() => _runtime.ObserveAsync(name, Ct), until, what);

    private V1Job Job(string name) => _server.Get<V1Job>(Ns, name).ShouldNotBeNull($"Job {name}");

    [Fact]
    public async Task Given_a_submission_killed_after_the_Job_was_created_When_it_is_submitted_again_Then_its_Secret_is_written_and_it_resumes_once()
    {
        var name = Name();
        var spec = Spec(name, secrets: new() { ["MLFLOW_TRACKING_TOKEN"] = "run-token" });
        // What a killed agent leaves: the Job, created suspended, without its Secret.
        var (job, _) = KubeObjects.TrainingJob(spec, _world.Cluster.Options);
        job.Spec.Suspend = true;
        var uid = (await _server.Client().BatchV1.CreateNamespacedJobAsync(job, Ns, cancellationToken: Ct)).Metadata.Uid;
        (await ObservedAsync(name, o => o.Phase == JobPhase.Pending, "seen")).Waiting.ShouldBeNull();

        await _runtime.SubmitAsync(spec, Ct);

        _server.Get<V1Secret>(Ns, name).ShouldNotBeNull().Metadata.OwnerReferences.ShouldHaveSingleItem().Uid.ShouldBe(Job(name).Metadata.Uid);
        Job(name).ShouldSatisfyAllConditions(j => j.Spec.Suspend.ShouldBe(false), j => j.Metadata.Uid.ShouldBe(uid, "the same Job: its create was refused (409)"));
    }

    [Fact]
    public async Task Given_a_job_with_a_secret_When_submitted_and_played_to_completion_Then_the_Job_and_its_owned_Secret_exist_and_it_is_observed_running_then_succeeded()
    {
        var name = Name();
        var spec = Spec(name, secrets: new() { ["AWS_SECRET_ACCESS_KEY"] = "s3cr3t-value" },
            labels: new() { [TrainingRuns.RunIdLabel] = name[6..], ["eventmlops.io/model"] = "rec" });

        var submitted = await _runtime.SubmitAsync(spec, Ct);

        submitted.Phase.ShouldBe(JobPhase.Pending);
        submitted.Labels.ShouldNotBeNull()[TrainingRuns.RunIdLabel].ShouldBe(name[6..]);
        var job = Job(name);
        job.Metadata.Labels["eventmlops.io/model"].ShouldBe("rec");
        job.Metadata.Labels[KubeObjects.ManagedByLabel].ShouldBe("emo-agents");
        var secret = _server.Get<V1Secret>(Ns, name).ShouldNotBeNull();
        secret.Metadata.OwnerReferences.ShouldHaveSingleItem().Uid.ShouldBe(job.Metadata.Uid);
        secret.Metadata.OwnerReferences[0].Kind.ShouldBe("Job");
        var env = job.Spec.Template.Spec.Containers.ShouldHaveSingleItem().Env;
        var fromSecret = env.Single(e => e.Name == "AWS_SECRET_ACCESS_KEY");
        fromSecret.Value.ShouldBeNull();
        fromSecret.ValueFrom.SecretKeyRef.ShouldSatisfyAllConditions(r => r.Name.ShouldBe(name), r => r.Key.ShouldBe("AWS_SECRET_ACCESS_KEY"));
        KubernetesJson.Serialize(job).ShouldNotContain("s3cr3t-value");
        var writes = _server.Requests.Where(r => r.Method is "POST" or "PATCH").ToList();
        // Created suspended, its Secret applied, then resumed: no pod of it ever waits for its Secret.
        writes.Select(r => (r.Method, r.Path)).ShouldBe([
            ("POST", $"/apis/batch/v1/namespaces/{Ns}/jobs"),
            ("PATCH", $"/api/v1/namespaces/{Ns}/secrets/{name}"),
            ("PATCH", $"/apis/batch/v1/namespaces/{Ns}/jobs/{name}"),
        ]);
        writes.ShouldAllBe(r => r.Query.Contains("fieldManager=emo-agents"));
        writes[1].ContentType!.ShouldStartWith("application/apply-patch+yaml");
        writes[2].ContentType!.ShouldStartWith("application/merge-patch+json");
        job.Spec.Suspend.ShouldBe(false);

        // The Job controller starts a pod; kubelet runs it.
        var started = new DateTime(2025, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        _world.SetStatus<V1Job>(name, new V1JobStatus { Active = 1, StartTime = started });
        _world.PodOf(job, name + "-x7k2p", DoubleCluster.Running(started));
        // The Job's status and its pod arrive by two watches: running is judged once both were seen.
        var running = await ObservedAsync(name, o => o.Phase == JobPhase.Running && o.StartedAt is not null, "running since its start");
        running.StartedAt.ShouldBe(new DateTimeOffset(started));
        running.ExitCode.ShouldBeNull();
        running.Waiting.ShouldBeNull();

        _world.SetStatus<V1Pod>(name + "-x7k2p", DoubleCluster.Terminated("Succeeded", 0, "Completed"));
        _world.SetStatus<V1Job>(name, new V1JobStatus
        {
            Succeeded = 1, StartTime = started, CompletionTime = started.AddMinutes(3),
            Conditions = [new V1JobCondition { Type = "Complete", Status = "True", LastTransitionTime = started.AddMinutes(3) }],
        });
        var succeeded = await ObservedAsync(name, o => o.Phase == JobPhase.Succeeded, "succeeded");
        succeeded.ExitCode.ShouldBe(0);
        succeeded.FinishedAt.ShouldBe(new DateTimeOffset(started.AddMinutes(3)));
        succeeded.LogTail.ShouldBeNull();

        var again = await _runtime.SubmitAsync(spec, Ct);

        again.Phase.ShouldBe(JobPhase.Succeeded, "the name is claimed: nothing starts again");
        Job(name).Metadata.Uid.ShouldBe(job.Metadata.Uid);
        _server.Requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/jobs")).ShouldBe(2, "the second create was refused (409) and the Job read instead");
    }

    [Fact]
    public async Task Given_a_GPU_job_When_no_node_has_a_free_GPU_Then_it_is_pending_and_waiting_says_why()
    {
        var name = Name();

        await _runtime.SubmitAsync(Spec(name, resources: new JobResources(4, 8192, 1)), Ct);

        var job = Job(name);
        var pod = job.Spec.Template.Spec;
        pod.Containers[0].Resources.Limits[KubeObjects.ExtendedResourceGpu].ToString().ShouldBe("1");
        pod.NodeSelector.ShouldBe(new Dictionary<string, string> { ["nvidia.com/gpu.present"] = "true" });
        pod.Tolerations.ShouldContain(t => t.Key == KubeObjects.ExtendedResourceGpu && t.OperatorProperty == "Exists" && t.Effect == "NoSchedule");
        _server.Get<V1Secret>(Ns, name).ShouldBeNull("a job without secrets has no Secret");

        _world.SetStatus<V1Job>(name, new V1JobStatus { Active = 1 });
        _world.PodOf(job, name + "-abcde", new V1PodStatus
        {
            Phase = "Pending",
            Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." }],
        });

        var waiting = await ObservedAsync(name, o => o.Waiting is not null, "waiting");
        waiting.Phase.ShouldBe(JobPhase.Pending);
        waiting.Waiting.ShouldBe("Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.");
        waiting.StartedAt.ShouldBeNull();
    }

    [Fact]
    public async Task Given_a_trainer_killed_for_memory_When_the_Job_failed_Then_it_is_failed_with_OOMKilled_its_exit_code_and_its_log_tail()
    {
        var name = Name();
        await _runtime.SubmitAsync(Spec(name), Ct);
        var job = Job(name);
        _world.PodOf(job, name + "-oom01", DoubleCluster.Running(DateTime.UtcNow));
        _server.SetLog(Ns, name + "-oom01", "epoch 1 loss 0.9\nepoch 2 loss 0.7\nallocating 40 GiB\n");

        _world.SetStatus<V1Pod>(name + "-oom01", DoubleCluster.Terminated("Failed", 137, "OOMKilled"));
        _world.SetStatus<V1Job>(name, new V1JobStatus
        {
            Failed = 1,
            Conditions = [new V1JobCondition { Type = "Failed", Status = "True", Reason = "BackoffLimitExceeded", Message = "Job has reached the specified backoff limit", LastTransitionTime = DateTime.UtcNow }],
        });

        var failed = await ObservedAsync(name, o => o.Phase == JobPhase.Failed, "failed");
        failed.ExitCode.ShouldBe(137);
        failed.Message.ShouldNotBeNull().ShouldContain("OOMKilled");
        failed.Cancelled.ShouldBeFalse();
        failed.LogTail.ShouldBe(["epoch 2 loss 0.7", "allocating 40 GiB"]);
        _server.Requests.ShouldContain(r => r.Path.EndsWith($"/pods/{name}-oom01/log") && r.Query.Contains("tailLines=2") && !r.Query.Contains("previous=true"));
    }

    [Fact]
    public async Task Given_a_container_in_a_crash_loop_When_observed_Then_waiting_names_CrashLoopBackOff_and_the_tail_is_the_previous_containers_log()
    {
        var name = Name();
        await _runtime.SubmitAsync(Spec(name), Ct);
        var job = Job(name);
        _world.PodOf(job, name + "-crash", new V1PodStatus
        {
            Phase = "Running",
            ContainerStatuses = [new V1ContainerStatus
            {
                Name = KubeObjects.Container, Image = "emo/trainer:1", ImageID = "", Ready = false, RestartCount = 3,
                State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "CrashLoopBackOff", Message = "back-off 40s restarting failed container" } },
                LastState = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 1, Reason = "Error" } },
            }],
        });
        _server.SetLog(Ns, name + "-crash", "");
        _server.SetLog(Ns, name + "-crash", "loading data\nFileNotFoundError: /data/u.data\n", previous: true);

        var crashing = await ObservedAsync(name, o => o.Waiting is not null, "waiting");

        crashing.Waiting.ShouldBe("CrashLoopBackOff: restarted 3 times, last exit code 1 (Error)");
        crashing.IsFinished.ShouldBeFalse();
        crashing.LogTail.ShouldBe(["loading data", "FileNotFoundError: /data/u.data"]);
    }

    [Fact]
    public async Task Given_a_running_job_When_cancelled_Then_the_Job_is_marked_its_pod_deleted_and_it_is_observed_cancelled()
    {
        var name = Name();
        await _runtime.SubmitAsync(Spec(name), Ct);
        var job = Job(name);
        _world.SetStatus<V1Job>(name, new V1JobStatus { Active = 1, StartTime = DateTime.UtcNow });
        _world.PodOf(job, name + "-run01", DoubleCluster.Running(DateTime.UtcNow));
        await ObservedAsync(name, o => o.Phase == JobPhase.Running, "running");

        await _runtime.CancelAsync(name, Ct);

        Job(name).Metadata.Annotations.ShouldContainKey(PodFacts.CancelledAnnotation);
        _server.Get<V1Pod>(Ns, name + "-run01").ShouldBeNull();
        _server.Requests.ShouldContain(r => r.Method == "DELETE" && r.Path.EndsWith($"/pods/{name}-run01"));
        (await _runtime.ObserveAsync(name, Ct)).Cancelled.ShouldBeTrue();

        // The Job controller fails the Job whose pod was deleted (backoffLimit 0).
        _world.SetStatus<V1Job>(name, new V1JobStatus
        {
            Failed = 1, Conditions = [new V1JobCondition { Type = "Failed", Status = "True", Reason = "BackoffLimitExceeded", LastTransitionTime = DateTime.UtcNow }],
        });
        var failed = await ObservedAsync(name, o => o.Phase == JobPhase.Failed, "failed");
        (failed.Cancelled, failed.Message).ShouldBe((true, "cancelled"));
    }

    [Fact]
    public async Task Given_a_job_never_submitted_When_cancelled_Then_a_suspended_tombstone_claims_its_name_and_a_later_submission_starts_nothing()
    {
        var name = Name();

        await _runtime.CancelAsync(name, Ct);

        var tombstone = Job(name);
        tombstone.Spec.Suspend.ShouldBe(true);
        tombstone.Metadata.Annotations.ShouldContainKey(PodFacts.CancelledAnnotation);

        var submitted = await _runtime.SubmitAsync(Spec(name, secrets: new() { ["TOKEN"] = "t" }), Ct);

        (submitted.Phase, submitted.Message, submitted.Cancelled).ShouldBe((JobPhase.Failed, "cancelled before it started", true));
        Job(name).Metadata.Uid.ShouldBe(tombstone.Metadata.Uid);
        Job(name).Spec.Suspend.ShouldBe(true);
        _server.Get<V1Secret>(Ns, name).ShouldBeNull("no secret for a job that never runs");
    }

    [Fact]
    public async Task Given_a_job_with_its_secret_and_pod_When_deleted_Then_all_are_gone_and_it_is_missing()
    {
        var name = Name();
        await _runtime.SubmitAsync(Spec(name, secrets: new() { ["TOKEN"] = "t" }), Ct);
        _world.PodOf(Job(name), name + "-del01", DoubleCluster.Running(DateTime.UtcNow));
        await ObservedAsync(name, o => o.Phase == JobPhase.Running, "running");

        await _runtime.DeleteAsync(name, Ct);

        _server.Get<V1Job>(Ns, name).ShouldBeNull();
        _server.Get<V1Secret>(Ns, name).ShouldBeNull();
        _server.Get<V1Pod>(Ns, name + "-del01").ShouldBeNull();
        _server.Requests.Last(r => r.Method == "DELETE").Path.ShouldEndWith($"/jobs/{name}");
        await ObservedAsync(name, o => o.Phase == JobPhase.Missing, "missing");
        await _runtime.DeleteAsync(name, Ct); // a no-op for a missing job
    }

    [Fact]
    public async Task Given_jobs_submitted_by_an_agent_that_stopped_When_a_new_agent_lists_by_run_id_Then_it_finds_its_job_with_every_label()
    {
        var (name, other) = (Name(), Name());
        var runId = Guid.ParseExact(name[6..], "N");
        await _runtime.SubmitAsync(Spec(name, labels: new()
        {
            [TrainingRuns.RunIdLabel] = name[6..], ["eventmlops.io/model-display"] = "Movie recommender (v2)",
        }), Ct);
        await _runtime.SubmitAsync(Spec(other), Ct);
        await TrainingRuns.RecordEpochAsync(_runtime, runId, 3, Ct);
        await TrainingRuns.MarkReportedAsync(_runtime, runId, "succeeded", Ct);
        await _world.DisposeAsync();

        _world = await DoubleCluster.StartAsync(_server); // a new agent: a new client, empty caches
        var runtime = new KubernetesJobRuntime(_world.Cluster);
        var found = await runtime.ListAsync(Ct, new Dictionary<string, string> { [TrainingRuns.RunIdLabel] = name[6..] });

        var job = found.ShouldHaveSingleItem();
        job.Name.ShouldBe(name);
        TrainingRuns.RunIdOf(job).ShouldBe(runId);
        TrainingRuns.ReportedEpoch(job).ShouldBe(3);
        TrainingRuns.Markers(job).ShouldBe(new RunMarkers(Reported: true, Cancelled: false));
        job.Labels.ShouldNotBeNull()["eventmlops.io/model-display"].ShouldBe("Movie recommender (v2)", "not a label value: kept as an annotation and read back");
        (await runtime.ListAsync(Ct)).Select(j => j.Name).ShouldBe(new[] { name, other }.Order(StringComparer.Ordinal));
        _world.Cluster.Jobs.Lists.ShouldBe(1);
    }

    [Fact]
    public async Task Given_a_watch_whose_history_was_compacted_When_it_reconnects_Then_the_runtime_lists_again_and_still_sees_the_change()
    {
        var name = Name();
        await _runtime.SubmitAsync(Spec(name), Ct);
        var job = Job(name);
        await DoubleCluster.EventuallyAsync(() => _world.Cluster.Jobs.AllAsync(Ct), jobs => jobs.Any(j => j.Metadata.Name == name), "in the cache");
        _world.Cluster.Jobs.Lists.ShouldBe(1);
        _server.Put(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "unrelated", NamespaceProperty = Ns } }); // the Jobs' watch is now behind

        _server.Compact();
        _server.DropWatches();
        _world.SetStatus<V1Job>(name, new V1JobStatus { Active = 1, StartTime = DateTime.UtcNow });
        _world.PodOf(job, name + "-p0001", DoubleCluster.Running(DateTime.UtcNow));

        await ObservedAsync(name, o => o.Phase == JobPhase.Running, "running after the re-list");
        // The phase also shows through the pods' cache, which may re-list first: wait for the Jobs' own re-list.
        await DoubleCluster.EventuallyAsync(() => Task.FromResult(_world.Cluster.Jobs.Lists), l => l >= 2, "the Jobs re-listed");

        var lists = _world.Cluster.Jobs.Lists;
        _server.DropWatches();
        _world.SetStatus<V1Pod>(name + "-p0001", DoubleCluster.Terminated("Succeeded", 0, "Completed"));
        _world.SetStatus<V1Job>(name, new V1JobStatus { Succeeded = 1, Conditions = [new V1JobCondition { Type = "Complete", Status = "True", LastTransitionTime = DateTime.UtcNow }] });

        await ObservedAsync(name, o => o.Phase == JobPhase.Succeeded, "succeeded after a plain reconnect");
        _world.Cluster.Jobs.Lists.ShouldBe(lists, "a dropped watch resumes from its resourceVersion, without a list");
    }

    [Fact]
    public async Task Given_a_pod_log_When_read_a_chunk_at_a_time_Then_the_chunks_make_the_log_and_a_shorter_log_is_read_from_its_start()
    {
        var name = Name();
        (await _runtime.ReadLogAsync(name, 0, 10, Ct)).ShouldSatisfyAllConditions(c => c.Bytes.ShouldBeEmpty(), c => c.Offset.ShouldBe(0));
        await _runtime.SubmitAsync(Spec(name), Ct);
        var pod = name + "-log01";
        _world.PodOf(Job(name), pod, DoubleCluster.Running(DateTime.UtcNow));
        await ObservedAsync(name, o => o.Phase == JobPhase.Running, "running");
        const string log = "epoch 1 loss 0.91\nepoch 2 loss 0.55\nepoch 3 loss 0.42\n";
        _server.SetLog(Ns, pod, log);

        var read = new List<byte>();
        var (offset, chunks) = (0L, 0);
        while (true)
        {
            var chunk = await _runtime.ReadLogAsync(name, offset, 16, Ct);
            chunk.Bytes.Length.ShouldBeLessThanOrEqualTo(16);
            if (chunk.Bytes.Length == 0)
            {
                chunk.Offset.ShouldBe(offset, "at its end the offset stays");
                break;
            }
            chunk.Offset.ShouldBe(offset + chunk.Bytes.Length);
            read.AddRange(chunk.Bytes);
            (offset, chunks) = (chunk.Offset, chunks + 1);
        }
        Encoding.UTF8.GetString([.. read]).ShouldBe(log);
        chunks.ShouldBe(4);
        _server.Requests.Where(r => r.Path.EndsWith($"/pods/{pod}/log")).ShouldAllBe(r => r.Query.Contains("container=main") && r.Query.Contains("limitBytes="));

        _server.SetLog(Ns, pod, "restarted\n");
        var again = await _runtime.ReadLogAsync(name, offset, 16, Ct);
        Encoding.UTF8.GetString(again.Bytes).ShouldBe("restarted\n");
        again.Offset.ShouldBe(10);
    }
}
