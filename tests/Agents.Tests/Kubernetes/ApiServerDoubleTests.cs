using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>
/// The Kubernetes API server double driven through the real KubernetesClient, so that what the runtime's tests rely on
/// (status codes, Status bodies, watch framing, apply conflicts, garbage collection) is pinned down here once.
/// </summary>
public sealed class ApiServerDoubleTests : IAsyncLifetime
{
    private const string Ns = "emo-test";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ApiServerDouble _server = null!;
    private k8s.Kubernetes _client = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ApiServerDouble.StartAsync();
        _client = _server.Client();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private static V1Job Job(string name, Dictionary<string, string>? labels = null, int parallelism = 1) => new()
    {
        ApiVersion = "batch/v1",
        Kind = "Job",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Ns, Labels = labels },
        Spec = new V1JobSpec
        {
            Parallelism = parallelism,
            BackoffLimit = 0,
            Template = new V1PodTemplateSpec
            {
                Spec = new V1PodSpec { RestartPolicy = "Never", Containers = [new V1Container { Name = "trainer", Image = "emo/trainer:1" }] },
            },
        },
    };

    private static V1OwnerReference[] OwnedBy(V1Job job) =>
        [new() { ApiVersion = "batch/v1", Kind = "Job", Name = job.Metadata.Name, Uid = job.Metadata.Uid, Controller = true }];

    private static V1Pod Pod(string name, V1Job? owner = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Ns, OwnerReferences = owner is null ? null : OwnedBy(owner) },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "trainer", Image = "emo/trainer:1" }] },
    };

    private Task<V1Job> ApplyAsync(V1Job job, string manager, bool? force = null) =>
        _client.BatchV1.PatchNamespacedJobAsync(new V1Patch(job, V1Patch.PatchType.ApplyPatch), job.Metadata.Name, Ns,
            fieldManager: manager, force: force, cancellationToken: Ct);

    private static async Task<V1Status> FailsAsync(HttpStatusCode code, Func<Task> call)
    {
        var e = await Should.ThrowAsync<HttpOperationException>(call);
        e.Response.StatusCode.ShouldBe(code);
        return KubernetesJson.Deserialize<V1Status>(e.Response.Content);
    }

    [Fact]
    public async Task Given_labelled_jobs_When_listing_with_a_selector_Then_only_the_matching_jobs_come_back()
    {
        var created = await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a", new() { ["eventmlops.io/run-id"] = "a", ["tier"] = "gpu" }), Ns, cancellationToken: Ct);
        await _client.BatchV1.CreateNamespacedJobAsync(Job("train-b", new() { ["eventmlops.io/run-id"] = "b" }), Ns, cancellationToken: Ct);
        await _client.BatchV1.CreateNamespacedJobAsync(Job("other"), Ns, cancellationToken: Ct);

        created.Metadata.Uid.ShouldNotBeNullOrEmpty();
        created.Metadata.ResourceVersion.ShouldNotBeNullOrEmpty();
        created.Metadata.Generation.ShouldBe(1);
        created.Metadata.CreationTimestamp.ShouldNotBeNull();
        (await _client.BatchV1.ReadNamespacedJobAsync("train-a", Ns, cancellationToken: Ct)).Metadata.Uid.ShouldBe(created.Metadata.Uid);

        async Task<string[]> Names(string selector) =>
            [.. (await _client.BatchV1.ListNamespacedJobAsync(Ns, labelSelector: selector, cancellationToken: Ct)).Items.Select(j => j.Metadata.Name)];
        (await Names("eventmlops.io/run-id")).ShouldBe(["train-a", "train-b"]);
        (await Names("eventmlops.io/run-id=a")).ShouldBe(["train-a"]);
        (await Names("eventmlops.io/run-id,tier!=gpu")).ShouldBe(["train-b"]);
        (await Names("!eventmlops.io/run-id")).ShouldBe(["other"]);
        (await Names("eventmlops.io/run-id in (b,c)")).ShouldBe(["train-b"]);
        (await Names("")).ShouldBe(["other", "train-a", "train-b"]);

        var list = await _client.BatchV1.ListNamespacedJobAsync(Ns, cancellationToken: Ct);
        list.Kind.ShouldBe("JobList");
        long.Parse(list.Metadata.ResourceVersion).ShouldBeGreaterThanOrEqualTo(long.Parse(created.Metadata.ResourceVersion));
        (await _client.BatchV1.ListNamespacedJobAsync("elsewhere", cancellationToken: Ct)).Items.ShouldBeEmpty();
        (await FailsAsync(HttpStatusCode.NotFound, () => _client.BatchV1.ReadNamespacedJobAsync("missing", Ns, cancellationToken: Ct))).Reason.ShouldBe("NotFound");
    }

    [Fact]
    public async Task Given_a_job_When_creating_it_again_Then_409_AlreadyExists()
    {
        await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a"), Ns, cancellationToken: Ct);

        var status = await FailsAsync(HttpStatusCode.Conflict, () => _client.BatchV1.CreateNamespacedJobAsync(Job("train-a"), Ns, cancellationToken: Ct));

        status.Reason.ShouldBe("AlreadyExists");
        status.Code.ShouldBe(409);
        status.Message.ShouldBe("jobs.batch \"train-a\" already exists");
    }

    [Fact]
    public async Task Given_an_applied_job_When_the_same_apply_comes_again_Then_nothing_is_written()
    {
        var first = await ApplyAsync(Job("train-a", new() { ["eventmlops.io/run-id"] = "a", ["stale"] = "yes" }), "emo-agents");
        var again = await ApplyAsync(Job("train-a", new() { ["eventmlops.io/run-id"] = "a", ["stale"] = "yes" }), "emo-agents");

        again.Metadata.ResourceVersion.ShouldBe(first.Metadata.ResourceVersion);
        again.Metadata.Uid.ShouldBe(first.Metadata.Uid);

        var changed = await ApplyAsync(Job("train-a", new() { ["eventmlops.io/run-id"] = "a" }, parallelism: 2), "emo-agents");

        long.Parse(changed.Metadata.ResourceVersion).ShouldBeGreaterThan(long.Parse(first.Metadata.ResourceVersion));
        changed.Metadata.Labels.ShouldNotContainKey("stale"); // no longer sent by its only manager: removed
        changed.Spec.Parallelism.ShouldBe(2);
        changed.Metadata.Generation.ShouldBe(2);
        _server.Requests.Where(r => r.Method == "PATCH").ShouldAllBe(r =>
            r.ContentType!.StartsWith("application/apply-patch+yaml") && r.Query.Contains("fieldManager=emo-agents"));
    }

    [Fact]
    public async Task Given_a_field_owned_by_another_manager_When_applying_a_different_value_Then_409_unless_forced()
    {
        await ApplyAsync(Job("train-a", parallelism: 1), "emo-agents");

        var status = await FailsAsync(HttpStatusCode.Conflict, () => ApplyAsync(Job("train-a", parallelism: 3), "kubectl"));
        status.Reason.ShouldBe("Conflict");
        status.Message.ShouldContain("conflict with \"emo-agents\": .spec.parallelism");

        (await ApplyAsync(Job("train-a", parallelism: 1), "kubectl")).Spec.Parallelism.ShouldBe(1); // same value: co-owned, no conflict
        (await ApplyAsync(Job("train-a", parallelism: 3), "kubectl", force: true)).Spec.Parallelism.ShouldBe(3);
        (await FailsAsync(HttpStatusCode.Conflict, () => ApplyAsync(Job("train-a", parallelism: 1), "emo-agents")))
            .Message.ShouldContain("conflict with \"kubectl\": .spec.parallelism");
    }

    [Fact]
    public async Task Given_an_apply_without_fieldManager_Then_400()
    {
        var status = await FailsAsync(HttpStatusCode.BadRequest, () => _client.BatchV1.PatchNamespacedJobAsync(
            new V1Patch(Job("train-a"), V1Patch.PatchType.ApplyPatch), "train-a", Ns, cancellationToken: Ct));

        status.Message.ShouldContain("fieldManager");
    }

    [Fact]
    public async Task Given_changes_after_a_resourceVersion_When_watching_from_it_Then_they_come_then_live_ones()
    {
        var a = await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a", new() { ["app"] = "emo" }), Ns, cancellationToken: Ct);
        _server.UpdateStatus<V1Job>(Ns, "train-a", job => job["status"] = new JsonObject { ["active"] = 1 });
        await _client.BatchV1.DeleteNamespacedJobAsync("train-a", Ns, cancellationToken: Ct);
        await _client.BatchV1.CreateNamespacedJobAsync(Job("ignored"), Ns, cancellationToken: Ct);
        await _client.BatchV1.CreateNamespacedJobAsync(Job("train-b", new() { ["app"] = "emo" }), Ns, cancellationToken: Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var events = new List<(WatchEventType Type, string Name, int? Active)>();

        await foreach (var (type, job) in _client.BatchV1.WatchListNamespacedJobAsync(Ns, labelSelector: "app=emo",
            resourceVersion: a.Metadata.ResourceVersion, onError: e => throw e, cancellationToken: timeout.Token))
        {
            events.Add((type, job.Metadata.Name, job.Status?.Active));
            if (events.Count == 3) _server.UpdateStatus<V1Job>(Ns, "train-b", b => b["status"] = new JsonObject { ["succeeded"] = 1 });
            if (events.Count == 4) break;
        }

        events.ShouldBe([
            (WatchEventType.Modified, "train-a", 1),
            (WatchEventType.Deleted, "train-a", 1),
            (WatchEventType.Added, "train-b", null),
            (WatchEventType.Modified, "train-b", null),
        ]);
    }

    [Fact]
    public async Task Given_a_compacted_history_When_watching_from_an_old_resourceVersion_Then_the_client_gets_410_Expired()
    {
        var a = await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a"), Ns, cancellationToken: Ct);
        await _client.BatchV1.CreateNamespacedJobAsync(Job("train-b"), Ns, cancellationToken: Ct);
        _server.Compact();
        var errors = new List<Exception>();
        var events = new List<WatchEventType>();

        await foreach (var (type, _) in _client.BatchV1.WatchListNamespacedJobAsync(Ns, resourceVersion: a.Metadata.ResourceVersion,
            onError: errors.Add, cancellationToken: Ct))
            events.Add(type);

        events.ShouldBeEmpty(); // the ERROR event never reaches the loop: the client turns it into onError, then the stream ends
        var expired = errors.ShouldHaveSingleItem().ShouldBeOfType<KubernetesException>();
        expired.Status.Code.ShouldBe(410);
        expired.Status.Reason.ShouldBe("Expired");
    }

    [Fact]
    public async Task Given_open_watches_When_the_double_drops_them_Then_the_streams_end_and_a_new_watch_resumes()
    {
        var a = await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a"), Ns, cancellationToken: Ct);
        var seen = new List<string>();

        await foreach (var (_, job) in _client.BatchV1.WatchListNamespacedJobAsync(Ns, onError: e => throw e, cancellationToken: Ct))
        {
            seen.Add(job.Metadata.ResourceVersion);
            _server.DropWatches();
        }
        seen.ShouldBe([a.Metadata.ResourceVersion]); // no resourceVersion: the current state as ADDED, then the drop ends the stream

        await _client.BatchV1.CreateNamespacedJobAsync(Job("train-b"), Ns, cancellationToken: Ct);
        await foreach (var (type, job) in _client.BatchV1.WatchListNamespacedJobAsync(Ns, resourceVersion: seen[^1], onError: e => throw e, cancellationToken: Ct))
        {
            (type, job.Metadata.Name).ShouldBe((WatchEventType.Added, "train-b"));
            break;
        }
    }

    [Fact]
    public async Task Given_no_changes_When_a_watch_times_out_Then_the_client_throws_from_the_loop()
    {
        // The client waits for the first line before it yields anything; a stream that ends empty (timeoutSeconds on a
        // quiet collection, real servers included) surfaces as an exception from the await foreach, not as onError.
        var errors = new List<Exception>();

        var thrown = await Should.ThrowAsync<Exception>(async () =>
        {
            await foreach (var _ in _client.BatchV1.WatchListNamespacedJobAsync(Ns, resourceVersion: "1", timeoutSeconds: 1, onError: errors.Add, cancellationToken: Ct)) { }
        });

        errors.ShouldBeEmpty();
        thrown.ShouldBeOfType<HttpRequestException>().InnerException.ShouldBeOfType<EndOfStreamException>();
    }

    [Fact]
    public async Task Given_a_job_When_merge_patching_its_labels_Then_they_change_and_the_spec_does_not()
    {
        var job = await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a", new() { ["a"] = "1", ["b"] = "2" }), Ns, cancellationToken: Ct);
        var patch = new V1Patch("""{"metadata":{"labels":{"a":"9","b":null}}}""", V1Patch.PatchType.MergePatch);

        var patched = await _client.BatchV1.PatchNamespacedJobAsync(patch, "train-a", Ns, cancellationToken: Ct);

        patched.Metadata.Labels.ShouldBe(new Dictionary<string, string> { ["a"] = "9" });
        patched.Metadata.Generation.ShouldBe(1);
        patched.Metadata.ResourceVersion.ShouldNotBe(job.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Given_a_job_owning_a_secret_and_a_pod_When_deleting_it_in_the_foreground_Then_they_go_too()
    {
        var job = await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a"), Ns, cancellationToken: Ct);
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "train-a-grant", OwnerReferences = OwnedBy(job) },
            StringData = new Dictionary<string, string> { ["token"] = "t" },
        }, Ns, cancellationToken: Ct);
        _server.Put(Pod("train-a-xyz", owner: job));
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "unrelated" } }, Ns, cancellationToken: Ct);

        var status = await _client.BatchV1.DeleteNamespacedJobAsync("train-a", Ns, new V1DeleteOptions { PropagationPolicy = "Foreground" }, cancellationToken: Ct);

        status.Status.ShouldBe("Success");
        _server.Get<V1Job>(Ns, "train-a").ShouldBeNull();
        _server.Get<V1Secret>(Ns, "train-a-grant").ShouldBeNull();
        _server.Get<V1Pod>(Ns, "train-a-xyz").ShouldBeNull();
        _server.Get<V1Secret>(Ns, "unrelated").ShouldNotBeNull();
    }

    [Fact]
    public async Task Given_a_job_owning_a_pod_When_deleting_it_without_a_policy_Then_the_pod_is_orphaned_as_batch_v1_does()
    {
        var job = await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a"), Ns, cancellationToken: Ct);
        _server.Put(Pod("train-a-xyz", owner: job));

        await _client.BatchV1.DeleteNamespacedJobAsync("train-a", Ns, cancellationToken: Ct);

        _server.Get<V1Pod>(Ns, "train-a-xyz").ShouldNotBeNull().Metadata.OwnerReferences.ShouldBeNull();
        await FailsAsync(HttpStatusCode.NotFound, () => _client.BatchV1.DeleteNamespacedJobAsync("train-a", Ns, cancellationToken: Ct));
    }

    [Fact]
    public async Task Given_an_unschedulable_pod_When_reading_it_Then_the_client_sees_what_the_test_put()
    {
        var job = await _client.BatchV1.CreateNamespacedJobAsync(Job("train-a"), Ns, cancellationToken: Ct);
        var pod = Pod("train-a-xyz", owner: job);
        pod.Status = new V1PodStatus
        {
            Phase = "Pending",
            Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." }],
        };
        _server.Put(pod);

        var pods = await _client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: null, cancellationToken: Ct);

        var condition = pods.Items.ShouldHaveSingleItem().Status.Conditions.ShouldHaveSingleItem();
        condition.Reason.ShouldBe("Unschedulable");
        pods.Items[0].Metadata.OwnerReferences.ShouldHaveSingleItem().Uid.ShouldBe(job.Metadata.Uid);
    }

    [Fact]
    public async Task Given_pod_logs_When_reading_the_tail_and_the_previous_container_Then_the_double_serves_them()
    {
        _server.Put(Pod("train-a-xyz"));
        _server.SetLog(Ns, "train-a-xyz", "epoch 1\nepoch 2\nepoch 3\n");

        async Task<string> LogAsync(bool? previous = null, int? tail = null)
        {
            using var reader = new StreamReader(await _client.CoreV1.ReadNamespacedPodLogAsync("train-a-xyz", Ns, previous: previous, tailLines: tail, cancellationToken: Ct));
            return await reader.ReadToEndAsync(Ct);
        }

        (await LogAsync(tail: 2)).ShouldBe("epoch 2\nepoch 3\n");
        (await LogAsync()).ShouldBe("epoch 1\nepoch 2\nepoch 3\n");
        (await FailsAsync(HttpStatusCode.BadRequest, () => LogAsync(previous: true))).Message
            .ShouldBe("previous terminated container \"trainer\" in pod \"train-a-xyz\" not found");

        _server.SetLog(Ns, "train-a-xyz", "CUDA out of memory\n", previous: true);
        (await LogAsync(previous: true)).ShouldBe("CUDA out of memory\n");
        await FailsAsync(HttpStatusCode.NotFound, () => _client.CoreV1.ReadNamespacedPodLogAsync("missing", Ns, cancellationToken: Ct));
    }

    [Fact]
    public async Task Given_a_pod_proxy_handler_When_proxying_Then_the_handler_answers_and_503_without_one()
    {
        _server.Put(Pod("serve-a"));
        _server.ProxyPod(Ns, "serve-a", 8080, path => path == "/metrics" ? "requests_total 7" : "?");

        using var body = new StreamReader(await _client.CoreV1.ConnectGetNamespacedPodProxyWithPathAsync("serve-a:8080", Ns, "metrics", cancellationToken: Ct));

        (await body.ReadToEndAsync(Ct)).ShouldBe("requests_total 7");
        await FailsAsync(HttpStatusCode.ServiceUnavailable, () => _client.CoreV1.ConnectGetNamespacedPodProxyWithPathAsync("serve-a:9090", Ns, "metrics", cancellationToken: Ct));
    }

    [Fact]
    public async Task Given_a_resource_the_double_does_not_serve_Then_it_says_so_instead_of_pretending()
    {
        var status = await FailsAsync(HttpStatusCode.NotFound, () => _client.AppsV1.ListNamespacedStatefulSetAsync(Ns, cancellationToken: Ct));

        status.Message.ShouldContain("double does not implement");
        (await FailsAsync(HttpStatusCode.UnsupportedMediaType, () => _client.BatchV1.PatchNamespacedJobAsync(
            new V1Patch(new { metadata = new { labels = new { a = "b" } } }, V1Patch.PatchType.StrategicMergePatch), "train-a", Ns, cancellationToken: Ct)))
            .Message.ShouldContain("double does not implement");
    }
}
