using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>One request as the double received it, for assertions such as "every apply carried fieldManager=emo-agents".</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, string? ContentType);

/// <summary>
/// TEST DOUBLE standing in for a Kubernetes API server, because none can be installed or run on these machines. It is the
/// one hand-written double the project allows; the runtime talks to it through the real KubernetesClient over real HTTP.
/// It serves only what the Kubernetes runtime relies on, generically over the namespaced resources in <see cref="Kinds"/>:
/// create, get, list and watch with label selectors (and <c>metadata.name</c> field selectors), replace, JSON merge patch,
/// server-side apply with simplified field ownership, delete with propagation to owned dependents, pod logs and the pod
/// proxy. The server owns uid, resourceVersion (one global counter), creationTimestamp and generation; watches replay a
/// bounded history and answer 410 Expired past it, as real servers do. Everything else answers 404/405/415 with a Status
/// that names the double, so a runtime that relies on more is caught instead of silently served.
/// Test-side controls (<see cref="Put{T}"/>, <see cref="UpdateStatus(string,string,string,string,Action{JsonObject})"/>,
/// <see cref="SetLog"/>, <see cref="ProxyPod"/>, <see cref="Compact"/>, <see cref="DropWatches"/>) play kubelet and
/// the controllers, which the double does not run: nothing here starts pods for Jobs or Deployments.
/// </summary>
public sealed partial class ApiServerDouble : IAsyncDisposable
{
    /// <summary>What the double serves: (group, version, resource) → kind. Anything else is refused as not implemented.</summary>
    private static readonly Dictionary<(string Group, string Version, string Resource), string> Kinds = new()
    {
        [("", "v1", "pods")] = "Pod",
        [("", "v1", "secrets")] = "Secret",
        [("", "v1", "services")] = "Service",
        [("", "v1", "configmaps")] = "ConfigMap",
        [("batch", "v1", "jobs")] = "Job",
        [("apps", "v1", "deployments")] = "Deployment",
        [("autoscaling", "v2", "horizontalpodautoscalers")] = "HorizontalPodAutoscaler",
        [("policy", "v1", "poddisruptionbudgets")] = "PodDisruptionBudget",
        [("discovery.k8s.io", "v1", "endpointslices")] = "EndpointSlice",
    };

    /// <summary>Enough to replay a test's changes; <see cref="Compact"/> forces the expiry path on purpose.</summary>
    private const int HistoryLimit = 1000;

    private readonly record struct Key(string Group, string Version, string Resource, string Namespace, string Name);

    private sealed record Change(long Revision, Key Key, string Type, JsonObject Object);

    private sealed class Watch(Key collection, Func<JsonObject, bool> matches)
    {
        public Channel<Change> Events { get; } = Channel.CreateUnbounded<Change>();

        public bool Sees(Change change) =>
            change.Key with { Name = "" } == collection && matches(change.Object);
    }

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<Key, JsonObject> _objects = [];
    private readonly List<Change> _history = [];
    private readonly List<Watch> _watches = [];
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<(string Namespace, string Pod, bool Previous), string> _logs = new();
    private readonly ConcurrentDictionary<(string Namespace, string Pod, int Port), Func<string, string>> _proxies = new();
    private readonly ConcurrentQueue<(string Method, string PathPart, int Code)> _faults = new();
    private long _revision;
    private long _oldestKept; // every change after this revision is still in _history

    private ApiServerDouble(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public static async Task<ApiServerDouble> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new ApiServerDouble(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Url = app.Urls.Single();
        return server;
    }

    /// <summary>A real KubernetesClient pointed at the double.</summary>
    public k8s.Kubernetes Client() => new(new KubernetesClientConfiguration { Host = Url });

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ---- test-side controls: they bypass REST (no request log, no field ownership) but not the watch stream ----

    /// <summary>Creates or replaces an object as a controller would; the server still stamps uid, resourceVersion and the rest.</summary>
    public T Put<T>(T obj) where T : IKubernetesObject<V1ObjectMeta>
    {
        var (group, version, resource, kind) = Entity<T>();
        var json = JsonNode.Parse(KubernetesJson.Serialize(obj))!.AsObject();
        var ns = obj.Metadata.NamespaceProperty ?? "default";
        var key = new Key(group, version, resource, ns, obj.Metadata.Name);
        lock (_gate)
        {
            var current = _objects.GetValueOrDefault(key);
            var uid = obj.Metadata.Uid ?? current?["metadata"]?["uid"]?.GetValue<string>();
            if (current is not null) KeepServerFields(json, current);
            Stamp(json, key, kind, uid);
            return KubernetesJson.Deserialize<T>(Commit(key, current, json).ToJsonString());
        }
    }

    public T? Get<T>(string ns, string name) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var (group, version, resource, _) = Entity<T>();
        lock (_gate)
            return _objects.TryGetValue(new(group, version, resource, ns, name), out var obj)
                ? KubernetesJson.Deserialize<T>(obj.ToJsonString())
                : null;
    }

    /// <summary>Removes an object at once (DELETED on watches) and, unless told otherwise, what it owns.</summary>
    public bool Delete<T>(string ns, string name, string propagationPolicy = "Background") where T : IKubernetesObject<V1ObjectMeta>
    {
        var (group, version, resource, _) = Entity<T>();
        lock (_gate)
        {
            var key = new Key(group, version, resource, ns, name);
            if (!_objects.ContainsKey(key)) return false;
            Remove(key, propagationPolicy);
            return true;
        }
    }

    /// <summary>
    /// Plays kubelet or a controller: changes the stored object (any field, typically <c>status</c>), bumps resourceVersion
    /// and emits MODIFIED, unless the change left the object as it was. The group of core resources is "".
    /// </summary>
    public void UpdateStatus(string group, string resource, string ns, string name, Action<JsonObject> change)
    {
        var version = Kinds.Keys.SingleOrDefault(k => k.Group == group && k.Resource == resource).Version
            ?? throw new InvalidOperationException($"the double does not serve {resource} in group '{group}'");
        var key = new Key(group, version, resource, ns, name);
        lock (_gate)
        {
            var current = _objects.GetValueOrDefault(key) ?? throw new InvalidOperationException($"{resource} {ns}/{name} is not in the double");
            var next = current.DeepClone().AsObject();
            change(next);
            Commit(key, current, next);
        }
    }

    public void UpdateStatus<T>(string ns, string name, Action<JsonObject> change) where T : IKubernetesObject<V1ObjectMeta>
    {
        var (group, _, resource, _) = Entity<T>();
        UpdateStatus(group, resource, ns, name, change);
    }

    /// <summary>What <c>GET pods/{pod}/log</c> answers; <paramref name="previous"/> is the last terminated container's log.</summary>
    public void SetLog(string ns, string pod, string text, bool previous = false) => _logs[(ns, pod, previous)] = text;

    /// <summary>Serves <c>GET pods/{pod}:{port}/proxy/{path}</c>: the handler gets "/{path}" and returns the body.</summary>
    public void ProxyPod(string ns, string pod, int port, Func<string, string> handler) => _proxies[(ns, pod, port)] = handler;

    /// <summary>The next <paramref name="method"/> request whose path contains <paramref name="pathPart"/> is answered
    /// <paramref name="code"/> without being served, as an API server that is briefly unavailable answers.</summary>
    public void FailNext(string method, string pathPart, int code = 503) => _faults.Enqueue((method, pathPart, code));

    /// <summary>Forgets the watch history, as etcd compaction does: a watch from any earlier resourceVersion gets 410 Expired.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _history.Clear();
            _oldestKept = _revision;
        }
    }

    /// <summary>Ends every open watch stream cleanly, as an API server restart or its watch timeout does.</summary>
    public void DropWatches()
    {
        lock (_gate)
        {
            foreach (var watch in _watches) watch.Events.Writer.TryComplete();
            _watches.Clear();
        }
    }

    // ---- storage: every write goes through Commit, every removal through Remove, both under _gate ----

    /// <summary>
    /// Stores <paramref name="next"/> unless it equals <paramref name="current"/> (real servers skip no-op writes: same
    /// resourceVersion, no event). Generation moves only when spec does, as for the built-in resources.
    /// </summary>
    private JsonObject Commit(Key key, JsonObject? current, JsonObject next)
    {
        var meta = Meta(next);
        if (current is not null)
        {
            meta["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
            meta["generation"] = current["metadata"]!["generation"]?.DeepClone();
            if (JsonNode.DeepEquals(current, next)) return current;
            if (!JsonNode.DeepEquals(current["spec"], next["spec"]))
                meta["generation"] = (current["metadata"]!["generation"]?.GetValue<long>() ?? 0) + 1;
        }
        meta["resourceVersion"] = (++_revision).ToString();
        _objects[key] = next;
        Publish(new(_revision, key, current is null ? "ADDED" : "MODIFIED", next));
        return next;
    }

    /// <summary>
    /// Deletes at once, with no graceful phase or finalizers: Foreground removes dependents first (as the garbage collector
    /// does before it lets the owner go), Background after, Orphan strips their ownerReferences instead.
    /// </summary>
    private JsonObject Remove(Key key, string propagationPolicy)
    {
        var gone = _objects[key];
        var uid = gone["metadata"]?["uid"]?.GetValue<string>();
        var dependents = _objects.Where(o => o.Key.Namespace == key.Namespace && OwnerRefs(o.Value).Any(r => r?["uid"]?.GetValue<string>() == uid))
            .Select(o => o.Key).ToList();
        if (propagationPolicy == "Orphan")
            foreach (var dependent in dependents)
            {
                var next = _objects[dependent].DeepClone().AsObject();
                var refs = next["metadata"]!["ownerReferences"]!.AsArray();
                foreach (var owned in refs.Where(r => r?["uid"]?.GetValue<string>() == uid).ToList()) refs.Remove(owned);
                if (refs.Count == 0) next["metadata"]!.AsObject().Remove("ownerReferences");
                Commit(dependent, _objects[dependent], next);
            }
        if (propagationPolicy == "Foreground") RemoveAll(dependents);
        _objects.Remove(key);
        _owners.Remove(key);
        var last = gone.DeepClone().AsObject();
        Meta(last)["resourceVersion"] = (++_revision).ToString();
        Publish(new(_revision, key, "DELETED", last));
        if (propagationPolicy == "Background") RemoveAll(dependents);
        return last;

        void RemoveAll(List<Key> keys)
        {
            foreach (var dependent in keys.Where(_objects.ContainsKey)) Remove(dependent, "Background");
        }
    }

    private void Publish(Change change)
    {
        _history.Add(change);
        if (_history.Count > HistoryLimit)
        {
            _oldestKept = _history[0].Revision;
            _history.RemoveAt(0);
        }
        foreach (var watch in _watches.Where(w => w.Sees(change))) watch.Events.Writer.TryWrite(change);
    }

    /// <summary>The fields only the server writes; a client's values for them are overwritten or ignored.</summary>
    private static void Stamp(JsonObject obj, Key key, string kind, string? uid)
    {
        obj["kind"] = kind;
        obj["apiVersion"] = ApiVersion(key.Group, key.Version);
        var meta = Meta(obj);
        meta["name"] = key.Name;
        meta["namespace"] = key.Namespace;
        meta["uid"] ??= uid ?? Guid.NewGuid().ToString();
        meta["creationTimestamp"] ??= DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
        meta["generation"] ??= 1L;
        meta.Remove("resourceVersion");
    }

    /// <summary>Updates through the main resource keep identity and status, as the status subresource split makes real servers do.</summary>
    private static void KeepServerFields(JsonObject next, JsonObject current)
    {
        var meta = Meta(next);
        foreach (var field in new[] { "uid", "creationTimestamp", "generation" })
            meta[field] = current["metadata"]![field]?.DeepClone();
        if (current["status"] is { } status) next["status"] = status.DeepClone();
        else next.Remove("status");
    }

    private static JsonObject Meta(JsonObject obj) => obj["metadata"] as JsonObject ?? (JsonObject)(obj["metadata"] = new JsonObject());

    private static IEnumerable<JsonNode?> OwnerRefs(JsonObject obj) => obj["metadata"]?["ownerReferences"]?.AsArray() ?? [];

    private static string ApiVersion(string group, string version) => group == "" ? version : $"{group}/{version}";

    private static (string Group, string Version, string Resource, string Kind) Entity<T>()
    {
        var entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>() ?? throw new InvalidOperationException($"{typeof(T)} is no Kubernetes entity");
        var served = (entity.Group ?? "", entity.ApiVersion, entity.PluralName);
        return Kinds.TryGetValue(served, out var kind) ? (served.Item1, served.ApiVersion, served.PluralName, kind)
            : throw new InvalidOperationException($"the double does not serve {entity.PluralName} in {ApiVersion(served.Item1, entity.ApiVersion)}");
    }
}
