using System.Security.Cryptography;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Rollout;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Tests.Kubernetes;
using EventMlOps.Agents.Tests.Testing;
using EventMlOps.Agents.Training;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.WorkOrders;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Sdk;
using static EventMlOps.Agents.Tests.Deploy.DeployLayout;

namespace EventMlOps.Agents.Tests.Deploy;

/// <summary>One RBAC permission: API group ("" for core), resource (with its subresource: <c>pods/log</c>) and verb.</summary>
public sealed record Permission(string Group, string Resource, string Verb)
{
    public override string ToString() => $"{(Group == "" ? "core" : Group)} {Resource} {Verb}";
}

/// <summary>
/// The agents' Role is exactly what the Kubernetes runtime calls: a representative run of the runtime's operations on the
/// API server double (training jobs, endpoints, metrics, the watches and lists of KubeCluster), every request it recorded
/// mapped to the permission the API server authorizes it with, compared with the README's table, a fixture Role and
/// the Role <c>emo-agents</c> of the rendered deploy/kubernetes/base.
/// </summary>
public sealed partial class AgentsRoleTests(AgentsFixture fx)
{
    private const string Ns = DoubleCluster.Ns;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<IReadOnlySet<Permission>>? _calls;

    /// <summary>What the runtime needs, from its calls (run once for the class's tests).</summary>
    private Task<IReadOnlySet<Permission>> CallsAsync() => _calls ??= RunTheRuntimeAsync();

    [Fact]
    public async Task Given_the_runtime_s_operations_When_their_requests_are_mapped_to_permissions_Then_they_are_the_README_s_table()
    {
        var calls = await CallsAsync();

        RequireEqual(calls, ReadmeTable(), "the README's Permissions table");
    }

    [Fact]
    public async Task Given_the_runtime_s_operations_When_their_requests_are_mapped_to_permissions_Then_they_are_the_fixture_s_Role()
    {
        var calls = await CallsAsync();
        var role = AgentsRole(await Kustomize.RenderAsync(Path.Combine(Fixture("good"), "base")));

        RequireEqual(calls, RoleRules(role), "the fixture's Role emo-agents");
    }

    [Fact]
    public async Task Given_the_runtime_s_operations_When_their_requests_are_mapped_to_permissions_Then_they_are_the_rules_of_the_rendered_base_s_Role()
    {
        Assert.SkipUnless(Directory.Exists(Path.Combine(Real, "base")),
            "deploy/kubernetes/base does not exist in this checkout yet: this test compares the runtime's calls with its Role emo-agents once it does");
        var calls = await CallsAsync();
        var role = AgentsRole(await Kustomize.RenderAsync(Path.Combine(Real, "base")));

        RequireEqual(calls, RoleRules(role), "the Role emo-agents of deploy/kubernetes/base");
    }

    [Fact]
    public void Given_a_Role_one_verb_short_or_one_too_many_When_compared_with_the_calls_Then_the_difference_is_named()
    {
        var calls = ReadmeTable();
        var short1 = calls.Where(p => p != new Permission("", "pods/log", "get")).ToHashSet();
        var wide = calls.Append(new Permission("", "secrets", "get")).ToHashSet();

        Should.Throw<XunitException>(() => RequireEqual(calls, short1, "a Role")).Message.ShouldContain("missing from a Role: core pods/log get");
        Should.Throw<XunitException>(() => RequireEqual(calls, wide, "a Role")).Message.ShouldContain("in a Role but never called: core secrets get");
    }

    [Theory]
    [InlineData("GET", "/apis/batch/v1/namespaces/ns/jobs/train-1", "", null, "batch jobs get")]
    [InlineData("GET", "/apis/batch/v1/namespaces/ns/jobs", "?labelSelector=a%3Db", null, "batch jobs list")]
    [InlineData("GET", "/apis/batch/v1/namespaces/ns/jobs", "?watch=true&resourceVersion=5", null, "batch jobs watch")]
    [InlineData("GET", "/api/v1/namespaces/ns/pods/p/log", "?tailLines=2", null, "core pods/log get")]
    [InlineData("GET", "/api/v1/namespaces/ns/pods/p:8080/proxy/metrics", "", null, "core pods/proxy get")]
    [InlineData("POST", "/apis/batch/v1/namespaces/ns/jobs", "?fieldManager=emo-agents", "application/json", "batch jobs create")]
    [InlineData("PATCH", "/apis/batch/v1/namespaces/ns/jobs/j", "", "application/merge-patch+json", "batch jobs patch")]
    [InlineData("PATCH", "/api/v1/namespaces/ns/secrets/s", "?force=true", "application/apply-patch+yaml; charset=utf-8", "core secrets patch,core secrets create")]
    [InlineData("DELETE", "/apis/policy/v1/namespaces/ns/poddisruptionbudgets/p", "", null, "policy poddisruptionbudgets delete")]
    [InlineData("DELETE", "/api/v1/namespaces/ns/pods", "", null, "core pods deletecollection")]
    public void Given_a_request_When_mapped_Then_it_needs_the_permission_the_API_server_authorizes_it_with(string method, string path, string query, string? contentType, string expected) =>
        string.Join(",", Permissions(new RecordedRequest(method, path, query, contentType))).ShouldBe(expected);

    // ---- the runtime's operations on the double ----

    private async Task<IReadOnlySet<Permission>> RunTheRuntimeAsync()
    {
        await using var server = await ApiServerDouble.StartAsync();
        await using (var world = await DoubleCluster.StartAsync(server)) // KubeCluster: lists and watches jobs, pods, deployments
        {
            await TrainAsync(server, world);
            await ServeAsync(server, world);
        }
        var unmapped = server.Requests.Where(r => Target().Match(r.Path) is not { Success: true }).ToList();
        if (unmapped.Count > 0)
            throw new XunitException("requests outside the namespace's resources (a Role cannot grant them):\n" +
                string.Join("\n", unmapped.Select(r => $"  {r.Method} {r.Path}{r.Query}")));
        return server.Requests.SelectMany(Permissions).ToHashSet();
    }

    private static JobSpec Job(string name, Dictionary<string, string>? secrets = null) =>
        new(name, "emo/trainer:1", "emo-train", ["--epochs", "2"], new Dictionary<string, string>(), secrets ?? [],
            new JobResources(2, 1024, 0), new Dictionary<string, string> { [TrainingRuns.RunIdLabel] = name["train-".Length..] });

    private static async Task TrainAsync(ApiServerDouble server, DoubleCluster world)
    {
        var runtime = new KubernetesJobRuntime(world.Cluster, logTailLines: 2);
        var runId = Guid.NewGuid();
        var name = TrainingRuns.JobName(runId);
        Task<JobObservation> Observed(Func<JobObservation, bool> until, string what) =>
            DoubleCluster.EventuallyAsync(() => runtime.ObserveAsync(name, Ct), until, what);

        // Submit with secrets (a Job and its Secret), run, read the log, label, fail with a log tail, then delete.
        await runtime.SubmitAsync(Job(name, new() { ["AWS_SECRET_ACCESS_KEY"] = "s" }), Ct);
        var job = server.Get<V1Job>(Ns, name)!;
        world.SetStatus<V1Job>(name, new V1JobStatus { Active = 1, StartTime = DateTime.UtcNow });
        world.PodOf(job, name + "-a", DoubleCluster.Running(DateTime.UtcNow));
        server.SetLog(Ns, name + "-a", "epoch 1\nepoch 2\n");
        await Observed(o => o.Phase == JobPhase.Running, "running");
        await runtime.ReadLogAsync(name, 0, 1024, Ct);
        await TrainingRuns.RecordEpochAsync(runtime, runId, 1, Ct);
        await runtime.SubmitAsync(Job(name, new() { ["AWS_SECRET_ACCESS_KEY"] = "s" }), Ct); // claimed: 409, then read
        world.SetStatus<V1Pod>(name + "-a", DoubleCluster.Terminated("Failed", 1, "Error"));
        world.SetStatus<V1Job>(name, new V1JobStatus { Failed = 1, Conditions = [new V1JobCondition { Type = "Failed", Status = "True", LastTransitionTime = DateTime.UtcNow }] });
        await Observed(o => o.Phase == JobPhase.Failed, "failed");
        await TrainingRuns.MarkReportedAsync(runtime, runId, "failed", Ct);
        await runtime.ListAsync(Ct, new Dictionary<string, string> { [TrainingRuns.RunIdLabel] = name[6..] });
        await runtime.DeleteAsync(name, Ct);

        // Cancel a running job (mark it, delete its pod); cancel one never submitted (a suspended tombstone), then submit it.
        var running = TrainingRuns.JobName(Guid.NewGuid());
        await runtime.SubmitAsync(Job(running), Ct);
        world.PodOf(server.Get<V1Job>(Ns, running)!, running + "-b", DoubleCluster.Running(DateTime.UtcNow));
        await DoubleCluster.EventuallyAsync(() => world.Cluster.PodsOfAsync(running, Ct), pods => pods.Count == 1, "the pod in the cache");
        await runtime.CancelAsync(running, Ct);
        var never = TrainingRuns.JobName(Guid.NewGuid());
        await runtime.CancelAsync(never, Ct);
        await runtime.SubmitAsync(Job(never, new() { ["TOKEN"] = "t" }), Ct);
        await runtime.DeleteAsync(TrainingRuns.JobName(Guid.NewGuid()), Ct); // a missing job: a 404, still a delete
    }

    private async Task ServeAsync(ApiServerDouble server, DoubleCluster world)
    {
        var endpoint = "ep-" + Guid.NewGuid().ToString("N")[..8];
        await using (var session = fx.Store.LightweightSession())
        {
            session.Events.StartStream<EndpointState>(StreamKeys.Endpoint(endpoint), new EndpointCreated(endpoint, "rec", 1, 3, "olga", DateTimeOffset.UtcNow));
            await session.SaveChangesAsync(Ct);
        }
        var options = new ServingAgentOptions("emo/serve:1", null, fx.Scratch, "emo-serve", "dotnet", fx.BaseAddress.ToString(),
            TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(60), new Dictionary<string, string>(),
            new Dictionary<string, string> { ["Artifacts__S3__Bucket"] = "models" }, new Dictionary<string, string> { ["Artifacts__S3__SecretKey"] = "s" }, [], Stream: null);
        var token = AgentToken.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agents:Token"] = fx.Tokens.Issue("emo-agents", [Roles.Agent], TimeSpan.FromHours(1)),
        }).Build());
        var grants = new WorkGrants(TimeProvider.System);
        grants.Hold(WorkGrants.Endpoint(endpoint), fx.Tokens.ForEndpoint(endpoint));
        using var runtime = new KubernetesServingRuntime(world.Cluster, options, new ReplicaTokens(options, token, grants),
            new SamplesKeys(RandomNumberGenerator.GetBytes(32)), wolverine: null!,
            TimeProvider.System, NullLogger<KubernetesServingRuntime>.Instance);
        ApplyEndpoint Order(long revision, int min, int max) =>
            new(endpoint, revision, [new ServedVersion("rec", 1, "s3://models/rec/1", "ab12", 100)], min, max);
        var name = LocalServingRuntime.ReplicaName(endpoint);

        await runtime.ApplyAsync(Order(1, 1, 3), replicas: 1, Ct);      // min < max: with an autoscaler
        await runtime.ApplyAsync(Order(2, 2, 2), replicas: 2, Ct);      // min = max: the autoscaler deleted
        await runtime.ApplyAsync(Order(3, 2, 5), replicas: 2, Ct);      // back to min < max: the count handed over
        var deployment = server.Get<V1Deployment>(Ns, name)!;
        world.PodOf(deployment, name + "-a", new V1PodStatus { Phase = "Running", Conditions = [new V1PodCondition { Type = "Ready", Status = "True" }] });
        server.ProxyPod(Ns, name + "-a", 8080, _ => "emo_serving_versions_weight_percent{model=\"rec\",version=\"1\"} 100\n");
        await DoubleCluster.EventuallyAsync(() => runtime.ObserveAsync(endpoint, Ct), o => o?.Replicas.Count == 1, "a ready replica");
        await new KubernetesEndpointMetrics(world.Cluster, NullLogger<KubernetesEndpointMetrics>.Instance).ReadAsync(endpoint, "rec", Ct);
        await runtime.EndpointsAsync(Ct);
        await runtime.DeleteAsync(endpoint, 4, "deleted", Ct);           // scaled to zero, the rest deleted
        await runtime.ApplyAsync(Order(5, 1, 3), replicas: 1, Ct);      // created again
    }

    // ---- requests → permissions ----

    [GeneratedRegex(@"^/(api/(?<version>v1)|apis/(?<group>[^/]+)/(?<version>[^/]+))/namespaces/[^/]+/(?<resource>[^/]+)(/(?<name>[^/]+)(/(?<sub>[^/]+))?)?")]
    private static partial Regex Target();

    [GeneratedRegex(@"(^|[?&])watch=(true|1)(&|$)")]
    private static partial Regex Watching();

    /// <summary>How the API server authorizes a request: GET of a named object get, of a collection list (watch with
    /// watch=true), POST create, PUT update, PATCH patch, DELETE delete (deletecollection on a collection); a server-side
    /// apply may create the object, which the API server authorizes as create too.</summary>
    public static IEnumerable<Permission> Permissions(RecordedRequest request)
    {
        var m = Target().Match(request.Path);
        if (!m.Success) throw new XunitException($"{request.Method} {request.Path} is not a namespaced resource");
        var (group, name, sub) = (m.Groups["group"].Value, m.Groups["name"].Value, m.Groups["sub"].Value);
        var resource = sub == "" ? m.Groups["resource"].Value : $"{m.Groups["resource"].Value}/{sub}";
        var collection = name == "";
        var verb = request.Method switch
        {
            "GET" when collection => Watching().IsMatch(request.Query) ? "watch" : "list",
            "GET" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" when collection => "deletecollection",
            "DELETE" => "delete",
            _ => throw new XunitException($"{request.Method} {request.Path}: no RBAC verb known"),
        };
        yield return new Permission(group, resource, verb);
        if (verb == "patch" && request.ContentType?.StartsWith("application/apply-patch", StringComparison.Ordinal) == true)
            yield return new Permission(group, resource, "create");
    }

    // ---- what the Role grants ----

    private static JsonObject AgentsRole(IEnumerable<JsonObject> objects) =>
        objects.SingleOrDefault(o => Text(o["kind"]) == "Role" && Text(o["metadata"]?["name"]) == "emo-agents")
        ?? throw new XunitException("the rendered base has no Role emo-agents");

    /// <summary>(group, resource) pairs the API serves, from KubernetesClient's models: a rule's cross product may name a
    /// pair that does not exist (core poddisruptionbudgets), which grants nothing and is left out.</summary>
    private static readonly Lazy<HashSet<(string Group, string Resource)>> Served = new(() =>
    [
        .. typeof(V1Job).Assembly.GetTypes().Select(t => t.GetCustomAttribute<KubernetesEntityAttribute>())
            .Where(e => e is { PluralName: not null and not "" }).Select(e => (e!.Group ?? "", e.PluralName)),
    ]);

    public static IReadOnlySet<Permission> RoleRules(JsonObject role)
    {
        var granted = new HashSet<Permission>();
        foreach (var rule in (role["rules"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (rule["resourceNames"] is JsonArray { Count: > 0 })
                throw new XunitException($"a rule of Role {Text(role["metadata"]?["name"])} is limited to resourceNames: the runtime's objects have no fixed names");
            foreach (var group in Strings(rule["apiGroups"]))
                foreach (var resource in Strings(rule["resources"]).Where(r => Served.Value.Contains((group, r.Split('/')[0]))))
                    foreach (var verb in Strings(rule["verbs"]))
                        granted.Add(new Permission(group, resource, verb));
        }
        return granted;
    }

    private static IEnumerable<string> Strings(JsonNode? node) => (node as JsonArray ?? []).Select(n => Text(n) ?? "");

    /// <summary>The README's "Permissions" table (section Kubernetes): rows of "`group` resource, resource (`group`)" and
    /// "verb, verb[ — remark]".</summary>
    public static IReadOnlySet<Permission> ReadmeTable()
    {
        var lines = File.ReadAllLines(Path.Combine(TestHost.RepoRoot(), "README.md"));
        var start = Array.FindIndex(lines, l => l.StartsWith("**Permissions**", StringComparison.Ordinal));
        if (start < 0) throw new XunitException("README.md has no **Permissions** paragraph");
        var rows = lines.Skip(start + 1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).Skip(2).ToList();
        var permissions = new HashSet<Permission>();
        foreach (var row in rows)
        {
            var cells = row.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            var verbs = cells[1].Split('—')[0].Split(',').Select(v => v.Trim()).Where(v => v != "");
            foreach (var item in cells[0].Split(',').Select(i => i.Trim()))
            {
                var m = TableResource().Match(item);
                if (!m.Success) throw new XunitException($"README.md's Permissions table: '{item}' is not '`group` resource' or 'resource (`group`)'");
                var group = m.Groups["before"].Success ? m.Groups["before"].Value : m.Groups["after"].Value;
                foreach (var verb in verbs) permissions.Add(new Permission(group, m.Groups["resource"].Value.Trim('`'), verb));
            }
        }
        if (permissions.Count == 0) throw new XunitException("README.md's Permissions table has no rows");
        return permissions;
    }

    [GeneratedRegex(@"^(`(?<before>[^`]*)`\s+)?(?<resource>`?[a-z/]+`?)(\s+\(`(?<after>[^`]*)`\))?$")]
    private static partial Regex TableResource();

    private static void RequireEqual(IReadOnlySet<Permission> calls, IReadOnlySet<Permission> granted, string what)
    {
        var missing = calls.Except(granted).Order(Comparer).ToList();
        var extra = granted.Except(calls).Order(Comparer).ToList();
        if (missing.Count == 0 && extra.Count == 0) return;
        var message = new StringBuilder($"the runtime's calls and {what} differ:");
        if (missing.Count > 0) message.Append($"\n  called, missing from {what}: {string.Join("; ", missing)}");
        if (extra.Count > 0) message.Append($"\n  in {what} but never called: {string.Join("; ", extra)}");
        throw new XunitException(message.ToString());
    }

    private static readonly IComparer<Permission> Comparer = Comparer<Permission>.Create((a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
}
