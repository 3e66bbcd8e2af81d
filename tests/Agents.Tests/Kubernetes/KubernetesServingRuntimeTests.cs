using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Rollout;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Tests.Testing;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.WorkOrders;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>
/// Endpoints as Deployment + Service + PodDisruptionBudget (+ HorizontalPodAutoscaler) applied server-side by
/// <see cref="KubernetesServingRuntime"/> on the API server double, through the real KubeCluster; the replicas' token is
/// issued by the real control plane (the endpoint exists there, and the agent holds its work order's grant). The
/// runtime's periodic checks are started only to renew the token, on a clock the test moves; the replica facts they
/// report on the bus are tested through the real agents' host (<see cref="KubernetesAgentsHostTests"/>).
/// </summary>
public sealed class KubernetesServingRuntimeTests(AgentsFixture fx) : IAsyncLifetime
{
    private const string Ns = DoubleCluster.Ns;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _endpoint = "ep-" + Guid.NewGuid().ToString("N")[..8];
    private ApiServerDouble _server = null!;
    private DoubleCluster _world = null!;
    private KubernetesServingRuntime _runtime = null!;
    private ServingAgentOptions _options = null!;
    private ReplicaTokens _tokens = null!;
    private readonly SamplesKeys _samplesKeys = new("the agents' samples secret"u8.ToArray());

    private string Name => LocalServingRuntime.ReplicaName(_endpoint);

    public async ValueTask InitializeAsync()
    {
        // Given: the endpoint exists on the control plane (min 1, max 3).
        await using (var session = fx.Store.LightweightSession())
        {
            session.Events.StartStream<EndpointState>(StreamKeys.Endpoint(_endpoint),
                new EndpointCreated(_endpoint, "rec", 1, 3, "olga", DateTimeOffset.UtcNow));
            await session.SaveChangesAsync(Ct);
        }
        _server = await ApiServerDouble.StartAsync();
        _world = await DoubleCluster.StartAsync(_server);
        var options = _options = new ServingAgentOptions("emo/serve:1", null, fx.Scratch, "emo-serve", "dotnet", fx.BaseAddress.ToString(),
            TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(60), new Dictionary<string, string>(),
            new Dictionary<string, string> { ["Artifacts__S3__Bucket"] = "models" }, new Dictionary<string, string> { ["Artifacts__S3__SecretKey"] = "store-secret" }, [], Stream: null);
        var token = AgentToken.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agents:Token"] = fx.Tokens.Issue("emo-agents", [Roles.Agent], TimeSpan.FromHours(1)),
        }).Build());
        var grants = new WorkGrants(TimeProvider.System);
        grants.Hold(WorkGrants.Endpoint(_endpoint), fx.Tokens.ForEndpoint(_endpoint));
        _tokens = new ReplicaTokens(options, token, grants);
        _runtime = Runtime(TimeProvider.System);
    }

    /// <summary>The runtime on the double. No bus: its checks send replica facts only when pods change, and no test here
    /// that starts them has pods.</summary>
    private KubernetesServingRuntime Runtime(TimeProvider time) =>
        new(_world.Cluster, _options, _tokens, _samplesKeys, wolverine: null!, time, NullLogger<KubernetesServingRuntime>.Instance);

    public async ValueTask DisposeAsync()
    {
        _runtime.Dispose();
        await _world.DisposeAsync();
        await _server.DisposeAsync();
    }

    private ApplyEndpoint Order(long revision, int min, int max, int version = 1) =>
        new(_endpoint, revision, [new ServedVersion("rec", version, $"s3://models/rec/{version}", "ab12", 100)], min, max);

    private static V1PodStatus Ready(DateTime startedAt) => new()
    {
        Phase = "Running",
        StartTime = startedAt,
        Conditions = [new V1PodCondition { Type = "Ready", Status = "True" }],
    };

    private T Owned<T>(V1Deployment deployment) where T : class, IKubernetesObject<V1ObjectMeta> => DoubleCluster.Owned<T>(_server, deployment);

    [Fact]
    public async Task Given_an_endpoint_of_one_to_three_replicas_When_applied_Then_a_Deployment_left_to_its_autoscaler_and_its_owned_Service_budget_autoscaler_and_token_Secret_exist()
    {
        await _runtime.ApplyAsync(Order(1, 1, 3), replicas: 1, Ct);

        var deployment = _server.Get<V1Deployment>(Ns, Name).ShouldNotBeNull();
        deployment.Spec.Replicas.ShouldBeNull("the autoscaler owns the count");
        deployment.Metadata.Annotations[KubernetesServingRuntime.EndpointAnnotation].ShouldBe(_endpoint);
        deployment.Metadata.Annotations[KubernetesServingRuntime.RevisionAnnotation].ShouldBe("1");
        var container = deployment.Spec.Template.Spec.Containers.ShouldHaveSingleItem();
        container.Image.ShouldBe("emo/serve:1");
        container.Env.Single(e => e.Name == KubernetesServingRuntime.TokenKey).ValueFrom.SecretKeyRef.Name.ShouldBe(Name);
        KubernetesJson.Serialize(deployment).ShouldNotContain("store-secret");
        Owned<V1Service>(deployment).Spec.Selector[KubeObjects.InstanceLabel].ShouldBe(Name);
        Owned<V1PodDisruptionBudget>(deployment).Spec.MaxUnavailable.Value.ShouldBe("1");
        var autoscaler = Owned<V2HorizontalPodAutoscaler>(deployment);
        (autoscaler.Spec.MinReplicas, autoscaler.Spec.MaxReplicas).ShouldBe((1, 3));
        autoscaler.Spec.ScaleTargetRef.Name.ShouldBe(Name);
        var secret = _server.Get<V1Secret>(Ns, Name).ShouldNotBeNull();
        secret.Metadata.OwnerReferences.ShouldHaveSingleItem().Uid.ShouldBe(deployment.Metadata.Uid);
        secret.StringData[KubernetesServingRuntime.TokenKey].Split('.').Length.ShouldBe(3, "a JWT issued by the control plane");
        secret.StringData["Artifacts__S3__SecretKey"].ShouldBe("store-secret");
        secret.StringData[KubernetesServingRuntime.SamplesKeyKey].ShouldBe(_samplesKeys.For(_endpoint), "the drift agent reads the replicas' samples with it");
        container.Env.Single(e => e.Name == KubernetesServingRuntime.SamplesKeyKey).ValueFrom.SecretKeyRef.Name.ShouldBe(Name);
        KubernetesJson.Serialize(deployment).ShouldNotContain(_samplesKeys.For(_endpoint));
        // When the token was issued is kept on the Deployment: the agents never read a Secret.
        _server.Get<V1Deployment>(Ns, Name)!.Metadata.Annotations.ShouldContainKey(KubernetesServingRuntime.TokenIssuedAnnotation);
        _server.Requests.ShouldNotContain(r => r.Method == "GET" && r.Path.Contains("/secrets"));
        _server.Requests.Where(r => r.Method == "PATCH").ShouldAllBe(r => r.Query.Contains("fieldManager=emo-agents"));
        _server.Requests.Where(r => r.Method == "PATCH" && !r.Path.Contains("/deployments/")).ShouldAllBe(r => r.ContentType!.StartsWith("application/apply-patch+yaml"));
        (await _runtime.EndpointsAsync(Ct)).ShouldBe([_endpoint]);
    }

    [Fact]
    public async Task Given_an_autoscaled_endpoint_When_its_bounds_become_two_and_two_Then_the_Deployment_has_two_replicas_and_the_autoscaler_is_deleted()
    {
        await _runtime.ApplyAsync(Order(1, 1, 3), replicas: 1, Ct);
        _server.Get<V2HorizontalPodAutoscaler>(Ns, Name).ShouldNotBeNull();

        await _runtime.ApplyAsync(Order(2, 2, 2), replicas: 2, Ct);

        var deployment = _server.Get<V1Deployment>(Ns, Name).ShouldNotBeNull();
        deployment.Spec.Replicas.ShouldBe(2);
        deployment.Metadata.Annotations[KubernetesServingRuntime.RevisionAnnotation].ShouldBe("2");
        _server.Get<V2HorizontalPodAutoscaler>(Ns, Name).ShouldBeNull();
        _server.Get<V1Service>(Ns, Name).ShouldNotBeNull();

        await _runtime.ApplyAsync(Order(3, 2, 2), replicas: 2, Ct); // no autoscaler to delete: a 404, ignored
    }

    [Fact]
    public async Task Given_a_fixed_count_of_three_replicas_When_the_bounds_become_two_to_five_Then_the_Deployment_keeps_three_for_its_autoscaler()
    {
        await _runtime.ApplyAsync(Order(1, 3, 3), replicas: 3, Ct);
        _server.Get<V1Deployment>(Ns, Name)!.Spec.Replicas.ShouldBe(3);

        await _runtime.ApplyAsync(Order(2, 2, 5), replicas: 3, Ct);

        // Left out of the apply, a count only emo-agents' apply owned would be removed, and defaulted to 1: two of the three
        // pods stopped until the autoscaler, created next, scales up again.
        _server.Get<V1Deployment>(Ns, Name)!.Spec.Replicas.ShouldBe(3, "the count is handed over to the autoscaler as it is");
        _server.Get<V2HorizontalPodAutoscaler>(Ns, Name).ShouldNotBeNull();
    }

    [Fact]
    public async Task Given_an_applied_endpoint_with_ready_and_unready_pods_When_observed_Then_its_revision_and_ready_pods_with_their_proxy_URLs_are_reported_and_an_older_order_changes_nothing()
    {
        await _runtime.ApplyAsync(Order(5, 1, 3), replicas: 1, Ct);
        var deployment = _server.Get<V1Deployment>(Ns, Name)!;
        var started = new DateTime(2025, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        _world.PodOf(deployment, Name + "-7d9f-a", Ready(started));
        _world.PodOf(deployment, Name + "-7d9f-b", new V1PodStatus { Phase = "Pending" });

        var observed = await DoubleCluster.EventuallyAsync(() => _runtime.ObserveAsync(_endpoint, Ct), o => o?.Replicas.Count > 0, "a ready replica");

        observed!.AppliedRevision.ShouldBe(5);
        observed.Deleted.ShouldBeFalse();
        var replica = observed.Replicas.ShouldHaveSingleItem();
        replica.Url.ShouldBe(new Uri($"{_server.Url}/api/v1/namespaces/{Ns}/pods/{Name}-7d9f-a:8080/proxy/"));
        replica.StartedAt.ShouldBe(new DateTimeOffset(started));

        var version = deployment.Metadata.ResourceVersion;
        var writes = _server.Requests.Count;
        await _runtime.ApplyAsync(Order(4, 2, 2, version: 9), replicas: 2, Ct);

        _server.Get<V1Deployment>(Ns, Name)!.Metadata.ResourceVersion.ShouldBe(version);
        _server.Requests.Count.ShouldBe(writes, "an older order writes nothing");
        (await _runtime.ObserveAsync(_endpoint, Ct))!.AppliedRevision.ShouldBe(5);
        (await _runtime.ObserveAsync("never-applied", Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Given_an_applied_endpoint_When_deleted_Then_it_is_scaled_to_zero_marked_with_the_revision_and_the_rest_removed_and_applying_again_recreates_it()
    {
        await _runtime.ApplyAsync(Order(1, 1, 3), replicas: 1, Ct);
        var deployment = _server.Get<V1Deployment>(Ns, Name)!;
        _world.PodOf(deployment, Name + "-x-1", Ready(DateTime.UtcNow));
        await DoubleCluster.EventuallyAsync(() => _runtime.ObserveAsync(_endpoint, Ct), o => o?.Replicas.Count == 1, "a ready replica");

        await _runtime.DeleteAsync(_endpoint, 2, "deleted by olga", Ct);

        var kept = _server.Get<V1Deployment>(Ns, Name).ShouldNotBeNull("kept, at zero, to remember the revision of its deletion");
        kept.Spec.Replicas.ShouldBe(0);
        kept.Metadata.Annotations[KubernetesServingRuntime.DeletedAnnotation].ShouldBe("2");
        kept.Metadata.Annotations[KubernetesServingRuntime.RevisionAnnotation].ShouldBe("2");
        _server.Get<V1Service>(Ns, Name).ShouldBeNull();
        _server.Get<V2HorizontalPodAutoscaler>(Ns, Name).ShouldBeNull();
        _server.Get<V1PodDisruptionBudget>(Ns, Name).ShouldBeNull();
        _server.Get<V1Secret>(Ns, Name).ShouldBeNull();
        var observed = await _runtime.ObserveAsync(_endpoint, Ct);
        (observed!.Deleted, observed.AppliedRevision, observed.Replicas.Count).ShouldBe((true, 2L, 0));
        (await _runtime.EndpointsAsync(Ct)).ShouldBeEmpty();

        await _runtime.ApplyAsync(Order(1, 1, 3), replicas: 1, Ct); // older than the deletion: nothing
        _server.Get<V1Service>(Ns, Name).ShouldBeNull();

        await _runtime.ApplyAsync(Order(3, 1, 3), replicas: 1, Ct);

        var again = _server.Get<V1Deployment>(Ns, Name).ShouldNotBeNull();
        again.Metadata.Uid.ShouldBe(deployment.Metadata.Uid);
        again.Metadata.Annotations.ShouldNotContainKey(KubernetesServingRuntime.DeletedAnnotation);
        again.Metadata.Annotations[KubernetesServingRuntime.RevisionAnnotation].ShouldBe("3");
        again.Spec.Replicas.ShouldBe(1, "an autoscaler does not scale a Deployment at zero: it comes back at its minimum");
        Owned<V1Service>(again);
        Owned<V2HorizontalPodAutoscaler>(again);
        Owned<V1PodDisruptionBudget>(again);
        Owned<V1Secret>(again).StringData.ShouldContainKey(KubernetesServingRuntime.TokenKey);
        (await _runtime.ObserveAsync(_endpoint, Ct))!.Deleted.ShouldBeFalse();
    }

    [Fact]
    public async Task Given_an_applied_endpoint_When_its_checks_run_past_twenty_minutes_later_Then_its_token_Secret_is_applied_again_with_a_new_token_and_the_Deployment_records_when_restarting_no_pod()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 5, 1, 12, 0, 0, TimeSpan.Zero));
        using var runtime = Runtime(time);
        await runtime.ApplyAsync(Order(1, 1, 3), replicas: 1, Ct);
        var applied = _server.Get<V1Deployment>(Ns, Name)!;
        var first = _server.Get<V1Secret>(Ns, Name)!.StringData[KubernetesServingRuntime.TokenKey];
        IssuedAt(applied).ShouldBe(time.GetUtcNow());
        await runtime.StartAsync(Ct);
        try
        {
            // Checks run every SuperviseInterval of the clock: each look moves it that far, so that the loop never waits.
            Task<V1Deployment> Tick()
            {
                time.Advance(_options.SuperviseInterval);
                return Task.FromResult(_server.Get<V1Deployment>(Ns, Name)!);
            }
            time.Advance(TimeSpan.FromMinutes(19));
            for (var i = 0; i < 10; i++) { await Tick(); await Task.Delay(50, Ct); }
            _server.Requests.Count(r => r.Method == "PATCH" && r.Path.Contains("/secrets/")).ShouldBe(1, "not renewed before 20 minutes");
            // A JWT's times are whole seconds: the control plane's next token differs once the real clock is in a later one.
            await Task.Delay(TimeSpan.FromSeconds(1.1), Ct);

            time.Advance(TimeSpan.FromMinutes(2));
            var renewed = await DoubleCluster.EventuallyAsync(Tick, d => IssuedAt(d) > IssuedAt(applied), "the token renewed");

            IssuedAt(renewed).ShouldBeGreaterThanOrEqualTo(IssuedAt(applied) + KubernetesServingRuntime.RenewTokenAfter);
            var secret = _server.Get<V1Secret>(Ns, Name)!;
            var token = secret.StringData[KubernetesServingRuntime.TokenKey];
            token.ShouldNotBe(first);
            var replica = await fx.Tokens.AuthenticateAsync(token);
            (replica.Endpoint, replica.Name).ShouldBe((_endpoint, Name), "a replica token of this endpoint, from the control plane");
            secret.StringData["Artifacts__S3__SecretKey"].ShouldBe("store-secret");
            secret.StringData[KubernetesServingRuntime.SamplesKeyKey].ShouldBe(_samplesKeys.For(_endpoint), "the renewed Secret keeps the samples key");
            secret.Metadata.OwnerReferences.ShouldHaveSingleItem().Uid.ShouldBe(applied.Metadata.Uid);
            _server.Requests.Count(r => r.Method == "PATCH" && r.Path.Contains("/secrets/")).ShouldBe(2);
            renewed.Metadata.Generation.ShouldBe(applied.Metadata.Generation, "the pod template is unchanged: pods read the Secret when they start");
            _server.Requests.ShouldNotContain(r => r.Method == "GET" && r.Path.Contains("/secrets"));
        }
        finally
        {
            await runtime.StopAsync(CancellationToken.None);
        }
    }

    private static DateTimeOffset IssuedAt(V1Deployment deployment) =>
        DateTimeOffset.Parse(deployment.Metadata.Annotations[KubernetesServingRuntime.TokenIssuedAnnotation], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Given_two_ready_replicas_When_the_canary_metrics_are_read_Then_both_pods_metrics_are_scraped_through_the_pod_proxy_and_summed()
    {
        await _runtime.ApplyAsync(Order(1, 2, 2), replicas: 2, Ct);
        var deployment = _server.Get<V1Deployment>(Ns, Name)!;
        const string labels = "otel_scope_name=\"EventMlOps.Serving\",model=\"rec\",route=\"recommend\"";
        static string Scrape(string labels, long ok, long errors) => string.Join('\n',
            "# TYPE emo_serving_request_duration_seconds histogram",
            $"emo_serving_request_duration_seconds_bucket{{{labels},status_class=\"2xx\",version=\"2\",le=\"0.005\"}} {ok}",
            $"emo_serving_request_duration_seconds_bucket{{{labels},status_class=\"2xx\",version=\"2\",le=\"+Inf\"}} {ok}",
            $"emo_serving_request_duration_seconds_count{{{labels},status_class=\"2xx\",version=\"2\"}} {ok}",
            $"emo_serving_request_duration_seconds_bucket{{{labels},status_class=\"5xx\",version=\"2\",le=\"0.005\"}} {errors}",
            $"emo_serving_request_duration_seconds_bucket{{{labels},status_class=\"5xx\",version=\"2\",le=\"+Inf\"}} {errors}",
            $"emo_serving_request_duration_seconds_count{{{labels},status_class=\"5xx\",version=\"2\"}} {errors}",
            "emo_serving_versions_weight_percent{otel_scope_name=\"EventMlOps.Serving\",model=\"rec\",version=\"2\"} 100");
        foreach (var (pod, ok, errors) in new[] { ("a", 30L, 1L), ("b", 60L, 2L) })
        {
            _world.PodOf(deployment, $"{Name}-{pod}", Ready(DateTime.UtcNow));
            _server.ProxyPod(Ns, $"{Name}-{pod}", 8080, path => path == "/metrics" ? Scrape(labels, ok, errors) : throw new InvalidOperationException(path));
        }
        _world.PodOf(deployment, $"{Name}-starting", new V1PodStatus { Phase = "Running" }); // not ready: not scraped (no handler: it would fail)
        var metrics = new KubernetesEndpointMetrics(_world.Cluster, NullLogger<KubernetesEndpointMetrics>.Instance);
        await DoubleCluster.EventuallyAsync(() => _world.Cluster.PodsOfAsync(Name, Ct), pods => pods.Count == 3, "three pods in the cache");

        var snapshot = (await metrics.ReadAsync(_endpoint, "rec", Ct)).ShouldNotBeNull();

        snapshot.Since(MetricsSnapshot.Parse("", "rec"), 2).ShouldSatisfyAllConditions(
            m => m.Requests.ShouldBe(93), m => m.Errors.ShouldBe(3));
        snapshot.Weights.ShouldBe(new Dictionary<int, double> { [2] = 100 });
        snapshot.Replicas.ShouldNotBeNull().Split(',').Select(r => r.Split('@')[0]).Order().ShouldBe([$"{Name}-a", $"{Name}-b"]);
        _server.Requests.Count(r => r.Path.EndsWith("/proxy/metrics")).ShouldBe(2);
        (await metrics.ReadAsync("no-such-endpoint", "rec", Ct)).ShouldBeNull();
    }
}
