using System.Collections.Concurrent;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Endpoints;
using k8s;
using k8s.Models;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>What Jobs and pods say, in the agents' words: given the objects a cluster reports, then the observation.</summary>
public sealed class PodFactsTests
{
    private const string Name = "train-0123456789abcdef0123456789abcdef";
    private static readonly DateTime Start = new(2026, 12, 4, 8, 0, 0, DateTimeKind.Utc);

    private static V1Job Job(Action<V1Job>? change = null, params (string Type, string Reason)[] conditions)
    {
        var job = new V1Job
        {
            Metadata = new V1ObjectMeta { Name = Name, Labels = new Dictionary<string, string> { ["eventmlops.io/run-id"] = "r" } },
            Spec = new V1JobSpec { Template = new V1PodTemplateSpec() },
            Status = new V1JobStatus
            {
                StartTime = Start,
                Conditions = [.. conditions.Select(c => new V1JobCondition { Type = c.Type, Status = "True", Reason = c.Reason, LastTransitionTime = Start.AddMinutes(5) })],
            },
        };
        change?.Invoke(job);
        return job;
    }

    private static V1Pod Pod(string phase, Action<V1PodStatus>? status = null, string name = "train-pod")
    {
        var pod = new V1Pod { Metadata = new V1ObjectMeta { Name = name, CreationTimestamp = Start }, Status = new V1PodStatus { Phase = phase } };
        status?.Invoke(pod.Status);
        return pod;
    }

    private static V1ContainerStatus Container(V1ContainerState state, int restarts = 0, V1ContainerState? last = null) =>
        new() { Name = KubeObjects.Container, Image = "i", ImageID = "", Ready = state.Running is not null, RestartCount = restarts, State = state, LastState = last };

    [Fact]
    public void Given_no_node_has_a_GPU_When_observed_Then_the_job_waits_and_says_why()
    {
        var pod = Pod("Pending", s => s.Conditions = [new V1PodCondition
        {
            Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
        }]);

        var observed = PodFacts.Observe(Name, Job(), [pod]);

        observed.Phase.ShouldBe(JobPhase.Pending);
        observed.Waiting.ShouldBe("Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.");
        observed.StartedAt.ShouldBeNull();
    }

    [Theory]
    [InlineData("ImagePullBackOff", "Back-off pulling image \"emo-train:9\"", "ImagePullBackOff: Back-off pulling image \"emo-train:9\"")]
    [InlineData("CreateContainerConfigError", "secret \"train-x\" not found", "CreateContainerConfigError: secret \"train-x\" not found")]
    public void Given_a_container_that_cannot_start_When_observed_Then_its_reason_is_the_wait(string reason, string message, string expected)
    {
        var pod = Pod("Pending", s => s.ContainerStatuses = [Container(new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } })]);

        PodFacts.Observe(Name, Job(), [pod]).Waiting.ShouldBe(expected);
    }

    [Fact]
    public void Given_a_container_still_being_created_When_observed_Then_nothing_is_wrong()
    {
        var pod = Pod("Pending", s => s.ContainerStatuses = [Container(new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "ContainerCreating" } })]);

        PodFacts.Observe(Name, Job(), [pod]).Waiting.ShouldBeNull();
    }

    [Fact]
    public void Given_a_crash_loop_When_observed_Then_the_wait_names_the_last_exit()
    {
        var pod = Pod("Running", s => s.ContainerStatuses = [Container(
            new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "CrashLoopBackOff", Message = "back-off 40s" } }, restarts: 3,
            last: new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 139, Reason = "Error" } })]);

        PodFacts.Waiting(pod).ShouldBe("CrashLoopBackOff: restarted 3 times, last exit code 139 (Error)");
    }

    [Fact]
    public void Given_a_running_pod_When_observed_Then_the_job_runs_since_the_Job_started()
    {
        var observed = PodFacts.Observe(Name, Job(), [Pod("Running")]);

        observed.Phase.ShouldBe(JobPhase.Running);
        observed.StartedAt.ShouldBe(new DateTimeOffset(Start));
        observed.Labels!["eventmlops.io/run-id"].ShouldBe("r");
    }

    [Fact]
    public void Given_a_complete_Job_When_observed_Then_it_succeeded_with_the_exit_code()
    {
        var pod = Pod("Succeeded", s => s.ContainerStatuses = [Container(new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 0, Reason = "Completed" } })]);

        var observed = PodFacts.Observe(Name, Job(null, ("Complete", "")), [pod]);

        observed.Phase.ShouldBe(JobPhase.Succeeded);
        observed.ExitCode.ShouldBe(0);
        observed.FinishedAt.ShouldBe(new DateTimeOffset(Start.AddMinutes(5)));
    }

    [Fact]
    public void Given_an_out_of_memory_kill_When_observed_Then_it_failed_saying_so()
    {
        var pod = Pod("Failed", s => s.ContainerStatuses = [Container(new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 137, Reason = "OOMKilled" } })]);

        var observed = PodFacts.Observe(Name, Job(null, ("Failed", "BackoffLimitExceeded")), [pod]);

        observed.Phase.ShouldBe(JobPhase.Failed);
        observed.ExitCode.ShouldBe(137);
        observed.Message!.ShouldStartWith("OOMKilled");
    }

    [Fact]
    public void Given_an_evicted_pod_When_observed_Then_it_failed_with_the_eviction_reason()
    {
        var pod = Pod("Failed", s => { s.Reason = "Evicted"; s.Message = "The node was low on resource: memory."; });

        PodFacts.Observe(Name, Job(null, ("Failed", "BackoffLimitExceeded")), [pod]).Message.ShouldBe("Evicted: The node was low on resource: memory.");
    }

    [Fact]
    public void Given_a_deadline_When_it_passed_Then_the_job_failed_saying_so()
    {
        PodFacts.Observe(Name, Job(null, ("Failed", "DeadlineExceeded")), []).Message.ShouldBe("DeadlineExceeded");
    }

    [Fact]
    public void Given_a_cancelled_tombstone_When_observed_Then_it_failed_before_it_started_and_is_cancelled()
    {
        var job = Job(j =>
        {
            j.Spec.Suspend = true;
            j.Metadata.Annotations = new Dictionary<string, string> { [PodFacts.CancelledAnnotation] = "2026-12-04T08:00:00Z" };
            j.Status = new V1JobStatus();
        });

        var observed = PodFacts.Observe(Name, job, []);

        observed.Phase.ShouldBe(JobPhase.Failed);
        observed.Cancelled.ShouldBeTrue();
        observed.Message.ShouldBe("cancelled before it started");
    }

    [Fact]
    public void Given_no_Job_When_observed_Then_it_is_missing() => PodFacts.Observe(Name, null, []).Phase.ShouldBe(JobPhase.Missing);

    [Fact]
    public void Given_a_reason_with_control_characters_When_told_Then_it_is_one_plain_line_the_control_plane_takes()
    {
        var pod = Pod("Pending", s => { s.Reason = "Evicted"; s.Message = "low on\u0000 memory\nsee\u001b[31m node"; });

        var reason = PodFacts.Waiting(pod)!;

        reason.ShouldBe("Evicted: low on  memory see [31m node");
        reason.Any(char.IsControl).ShouldBeFalse();
    }

    [Fact]
    public void Given_an_overlong_reason_When_told_Then_it_is_cut()
    {
        var pod = Pod("Pending", s => s.Reason = "Evicted");
        pod.Status.Message = new string('x', 5000);

        PodFacts.Waiting(pod)!.Length.ShouldBeLessThanOrEqualTo(501);
    }
}

/// <summary>Replica facts from what the Deployment controller did to an endpoint's pods.</summary>
public sealed class ReplicaFactsTests
{
    private static V1Pod Pod(string name, bool ready, int restarts = 0, V1ContainerStateTerminated? died = null, V1ContainerStateWaiting? waiting = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Status = new V1PodStatus
        {
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
            ContainerStatuses =
            [
                new V1ContainerStatus
                {
                    Name = "main", Image = "i", ImageID = "", Ready = ready, RestartCount = restarts,
                    State = waiting is null ? new V1ContainerState { Running = new V1ContainerStateRunning() } : new V1ContainerState { Waiting = waiting },
                    LastState = died is null ? null : new V1ContainerState { Terminated = died },
                },
            ],
        },
    };

    [Fact]
    public void Given_a_pod_that_became_ready_Then_it_started_once()
    {
        var (facts, seen) = ReplicaFacts.Changes(new Dictionary<string, ReplicaSeen>(), [Pod("serve-a-1", ready: false)], "gone");
        facts.ShouldBeEmpty();

        (facts, seen) = ReplicaFacts.Changes(seen, [Pod("serve-a-1", ready: true)], "gone");
        facts.ShouldBe([new ReplicaFact("serve-a-1", ReplicaChange.Started, null, null)]);

        ReplicaFacts.Changes(seen, [Pod("serve-a-1", ready: true)], "gone").Facts.ShouldBeEmpty();
    }

    [Fact]
    public void Given_a_container_restarted_by_the_kubelet_Then_it_restarted_with_why()
    {
        var before = new Dictionary<string, ReplicaSeen> { ["serve-a-1"] = new(true, 0, null) };

        var (facts, _) = ReplicaFacts.Changes(before, [Pod("serve-a-1", ready: false, restarts: 1, died: new V1ContainerStateTerminated { ExitCode = 137, Reason = "OOMKilled" })], "gone");

        facts.ShouldBe([new ReplicaFact("serve-a-1", ReplicaChange.Restarted, "OOMKilled, exit code 137", 137)]);
    }

    [Fact]
    public void Given_a_restarted_pod_When_it_is_ready_again_Then_nothing_is_reported_it_did_not_start_anew()
    {
        var died = new V1ContainerStateTerminated { ExitCode = 137, Reason = "OOMKilled" };
        var (facts, seen) = ReplicaFacts.Changes(new Dictionary<string, ReplicaSeen>(), [Pod("serve-a-1", ready: true)], "gone");
        facts.ShouldBe([new ReplicaFact("serve-a-1", ReplicaChange.Started, null, null)]);
        (facts, seen) = ReplicaFacts.Changes(seen, [Pod("serve-a-1", ready: false, restarts: 1, died: died)], "gone");
        facts.ShouldBe([new ReplicaFact("serve-a-1", ReplicaChange.Restarted, "OOMKilled, exit code 137", 137)]);

        (facts, seen) = ReplicaFacts.Changes(seen, [Pod("serve-a-1", ready: true, restarts: 1, died: died)], "gone");

        facts.ShouldBeEmpty();
        ReplicaFacts.Changes(seen, [Pod("serve-a-1", ready: false, restarts: 1, died: died)], "gone").Facts.ShouldBeEmpty("a failed readiness probe is no stop either");
    }

    [Fact]
    public void Given_a_pod_whose_image_cannot_be_pulled_Then_it_waits_with_the_reason_once()
    {
        var pod = Pod("serve-a-2", ready: false, waiting: new V1ContainerStateWaiting { Reason = "ImagePullBackOff", Message = "Back-off pulling image \"emo-serve:9\"" });

        var (facts, seen) = ReplicaFacts.Changes(new Dictionary<string, ReplicaSeen>(), [pod], "gone");

        facts.ShouldBe([new ReplicaFact("serve-a-2", ReplicaChange.Waiting, "ImagePullBackOff: Back-off pulling image \"emo-serve:9\"", null)]);
        ReplicaFacts.Changes(seen, [pod], "gone").Facts.ShouldBeEmpty();
    }

    [Fact]
    public void Given_a_pod_that_is_gone_Then_it_stopped_with_the_reason_given()
    {
        var before = new Dictionary<string, ReplicaSeen> { ["serve-a-1"] = new(true, 0, null) };

        ReplicaFacts.Changes(before, [], "the endpoint was deleted").Facts
            .ShouldBe([new ReplicaFact("serve-a-1", ReplicaChange.Stopped, "the endpoint was deleted", null)]);
    }
}

/// <summary>The watch cache's pure steps.</summary>
public sealed class KubeInformerTests
{
    private static V1Job Job(string version) => new() { Metadata = new V1ObjectMeta { Name = "j", ResourceVersion = version } };

    [Fact]
    public void Given_a_newer_copy_When_a_late_event_arrives_Then_the_newer_copy_stays_and_a_deletion_removes_it()
    {
        var items = new ConcurrentDictionary<string, V1Job>();
        KubeInformer<V1Job, V1JobList>.Apply(items, WatchEventType.Modified, Job("12"));
        KubeInformer<V1Job, V1JobList>.Apply(items, WatchEventType.Modified, Job("9"));
        items["j"].Metadata.ResourceVersion.ShouldBe("12");

        KubeInformer<V1Job, V1JobList>.Apply(items, WatchEventType.Modified, Job("13"));
        items["j"].Metadata.ResourceVersion.ShouldBe("13");

        KubeInformer<V1Job, V1JobList>.Apply(items, WatchEventType.Deleted, Job("14"));
        items.ShouldBeEmpty();
    }

    [Fact]
    public void Given_an_object_created_again_under_its_name_When_the_late_deletion_of_the_old_one_arrives_Then_the_new_one_stays()
    {
        var items = new ConcurrentDictionary<string, V1Job>();
        KubeInformer<V1Job, V1JobList>.Apply(items, WatchEventType.Modified, Job("20")); // our create, remembered at once

        KubeInformer<V1Job, V1JobList>.Apply(items, WatchEventType.Deleted, Job("17")); // the old object's deletion, late

        items["j"].Metadata.ResourceVersion.ShouldBe("20");
    }

    [Fact]
    public void Given_watch_endings_Then_only_a_410_asks_for_a_new_list_and_pauses_grow_to_a_limit()
    {
        WatchBackoff.Expired(new KubernetesException(new V1Status { Code = 410, Reason = "Expired" })).ShouldBeTrue();
        WatchBackoff.Expired(new KubernetesException(new V1Status { Code = 500 })).ShouldBeFalse();
        WatchBackoff.Expired(new HttpRequestException("connection refused")).ShouldBeFalse();
        WatchBackoff.EndedQuietly(new HttpRequestException("end", new EndOfStreamException())).ShouldBeTrue();

        var pause = WatchBackoff.First;
        for (var i = 0; i < 20; i++) pause = WatchBackoff.Next(pause);
        pause.ShouldBe(WatchBackoff.Longest);
        WatchBackoff.Newer("10", "9").ShouldBeTrue();
        WatchBackoff.Newer("opaque", "9").ShouldBeTrue();
    }
}
