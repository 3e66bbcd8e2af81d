using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>The REST surface of the double: URL shapes, verbs, watch streams, pod logs and the pod proxy.</summary>
public sealed partial class ApiServerDouble
{
    private sealed record Target(string Group, string Version, string Resource, string Namespace, string? Name, string? Subresource, string Rest)
    {
        public Key Key => new(Group, Version, Resource, Namespace, Name ?? "");
        public string Qualified => Group == "" ? Resource : $"{Resource}.{Group}";
    }

    private sealed record Reply(int Code, string Body, string ContentType = "application/json");

    private async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        _requests.Enqueue(new(request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "", request.ContentType));
        var body = await new StreamReader(request.Body).ReadToEndAsync(http.RequestAborted);
        var target = Parse(request.Path.Value ?? "");
        Reply reply;
        if (_faults.TryPeek(out var fault) && fault.Method == request.Method && (request.Path.Value ?? "").Contains(fault.PathPart, StringComparison.Ordinal)
            && _faults.TryDequeue(out _))
            reply = Fail(fault.Code, "ServiceUnavailable", "injected by the test: the API server is briefly unavailable");
        else if (target is null || !Kinds.TryGetValue((target.Group, target.Version, target.Resource), out var kind))
            reply = Fail(404, "NotFound", NotImplemented($"{request.Method} {request.Path}"));
        else if (request.Method == "GET" && target.Name is null && (string?)request.Query["watch"] is "true" or "1")
        {
            await WatchAsync(http, target);
            return;
        }
        else
            reply = Dispatch(request.Method, target, kind, body, request);
        http.Response.StatusCode = reply.Code;
        http.Response.ContentType = reply.ContentType;
        await http.Response.WriteAsync(reply.Body, http.RequestAborted);
    }

    /// <summary>Namespaced paths only: <c>/api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}[/{rest}]]]</c> or the <c>/apis/{group}/{version}</c> form.</summary>
    private static Target? Parse(string path)
    {
        var s = path.Trim('/').Split('/');
        var (group, version, i) = s switch
        {
            ["api", var v, ..] => ("", v, 2),
            ["apis", var g, var v, ..] => (g, v, 3),
            _ => (null, null, 0),
        };
        if (group is null || version is null || s.Length < i + 3 || s[i] != "namespaces") return null;
        return new(group, version, s[i + 2], s[i + 1], s.ElementAtOrDefault(i + 3), s.ElementAtOrDefault(i + 4), string.Join('/', s.Skip(i + 5)));
    }

    private Reply Dispatch(string method, Target t, string kind, string body, HttpRequest request)
    {
        try
        {
            var mediaType = request.ContentType?.Split(';')[0].Trim();
            return (method, t.Name, t.Subresource) switch
            {
                ("GET", null, null) => List(t, kind, request.Query),
                ("POST", null, null) => Create(t, kind, Object(body), Manager(request)),
                ("GET", not null, null) => Read(t),
                ("PUT", not null, null) => Replace(t, kind, Object(body), Manager(request)),
                ("PATCH", not null, null) when mediaType == "application/apply-patch+yaml" => Apply(t, kind, Object(body), request.Query),
                ("PATCH", not null, null) when mediaType == "application/merge-patch+json" => MergePatch(t, kind, Object(body), Manager(request)),
                ("PATCH", not null, null) => Fail(415, "UnsupportedMediaType", NotImplemented($"PATCH as {mediaType}")),
                ("DELETE", not null, null) => Delete(t, body, request.Query),
                ("GET", not null, "log") when t.Resource == "pods" => Log(t, request.Query),
                ("GET", not null, "proxy") when t.Resource == "pods" => Proxy(t),
                _ => Fail(405, "MethodNotAllowed", NotImplemented($"{method} {request.Path}")),
            };
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return Fail(400, "BadRequest", e.Message);
        }
    }

    private Reply List(Target t, string kind, IQueryCollection query)
    {
        var matches = Selector(query);
        lock (_gate)
        {
            var items = new JsonArray([.. _objects.Where(o => o.Key with { Name = "" } == t.Key && matches(o.Value))
                .OrderBy(o => o.Key.Name, StringComparer.Ordinal).Select(o => o.Value.DeepClone())]);
            return Ok(new JsonObject
            {
                ["kind"] = kind + "List",
                ["apiVersion"] = ApiVersion(t.Group, t.Version),
                ["metadata"] = new JsonObject { ["resourceVersion"] = _revision.ToString() },
                ["items"] = items,
            });
        }
    }

    private Reply Create(Target t, string kind, JsonObject obj, string manager)
    {
        var meta = Meta(obj);
        if (meta["name"] is null && meta["generateName"]?.GetValue<string>() is { } prefix)
            meta["name"] = prefix + Guid.NewGuid().ToString("N")[..5];
        var name = meta["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name)) return Fail(422, "Invalid", "metadata.name: Required value: name or generateName is required");
        if (MismatchedNamespace(t, obj) is { } mismatch) return mismatch;
        var key = t.Key with { Name = name };
        lock (_gate)
        {
            if (_objects.ContainsKey(key)) return Fail(409, "AlreadyExists", $"{t.Qualified} \"{name}\" already exists", t, name);
            ClearServerFields(obj);
            Stamp(obj, key, kind, uid: null);
            var stored = Commit(key, null, obj);
            TakeOwnership(key, manager, null, stored);
            return Ok(stored.DeepClone(), 201);
        }
    }

    private Reply Read(Target t)
    {
        lock (_gate)
            return _objects.TryGetValue(t.Key, out var obj) ? Ok(obj.DeepClone()) : NotFound(t);
    }

    private Reply Replace(Target t, string kind, JsonObject obj, string manager)
    {
        if (obj["metadata"]?["name"]?.GetValue<string>() != t.Name) return Fail(400, "BadRequest", "the name of the object does not match the name on the URL");
        if (MismatchedNamespace(t, obj) is { } mismatch) return mismatch;
        lock (_gate)
        {
            if (!_objects.TryGetValue(t.Key, out var current)) return NotFound(t);
            var expected = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (expected is not null && expected != current["metadata"]!["resourceVersion"]!.GetValue<string>())
                return Fail(409, "Conflict", $"Operation cannot be fulfilled on {t.Qualified} \"{t.Name}\": the object has been modified; please apply your changes to the latest version and try again", t);
            KeepServerFields(obj, current);
            Stamp(obj, t.Key, kind, uid: null);
            var stored = Commit(t.Key, current, obj);
            TakeOwnership(t.Key, manager, current, stored);
            return Ok(stored.DeepClone());
        }
    }

    private Reply MergePatch(Target t, string kind, JsonObject patch, string manager)
    {
        lock (_gate)
        {
            if (!_objects.TryGetValue(t.Key, out var current)) return NotFound(t);
            var next = current.DeepClone().AsObject();
            Merge(next, patch);
            KeepServerFields(next, current);
            Stamp(next, t.Key, kind, uid: null);
            var stored = Commit(t.Key, current, next);
            TakeOwnership(t.Key, manager, current, stored);
            return Ok(stored.DeepClone());
        }
    }

    /// <summary>
    /// Defaults as real servers do: batch/v1 Jobs orphan their pods unless told otherwise (kubectl passes Background
    /// explicitly); every other resource here defaults to Background. Pods and Services answer with the object, the rest with a
    /// Status.
    /// </summary>
    private Reply Delete(Target t, string body, IQueryCollection query)
    {
        var options = string.IsNullOrWhiteSpace(body) ? new JsonObject() : Object(body);
        var policy = (string?)query["propagationPolicy"] ?? options["propagationPolicy"]?.GetValue<string>()
            ?? (options["orphanDependents"]?.GetValue<bool>() == true || t is { Group: "batch", Resource: "jobs" } ? "Orphan" : "Background");
        if (policy is not ("Foreground" or "Background" or "Orphan"))
            return Fail(422, "Invalid", $"propagationPolicy: Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
        lock (_gate)
        {
            if (!_objects.TryGetValue(t.Key, out var current)) return NotFound(t);
            var uid = current["metadata"]!["uid"]!.GetValue<string>();
            if (options["preconditions"]?["uid"]?.GetValue<string>() is { } expected && expected != uid)
                return Fail(409, "Conflict", $"Precondition failed: UID in precondition: {expected}, UID in object meta: {uid}", t);
            var gone = Remove(t.Key, policy);
            if (t.Resource is "pods" or "services") // their registries answer with the object (the client reads a V1Pod / V1Service)
            {
                var pod = gone.DeepClone().AsObject();
                if (t.Resource == "pods") Meta(pod)["deletionTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
                return Ok(pod);
            }
            return Ok(new JsonObject
            {
                ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success",
                ["details"] = new JsonObject { ["name"] = t.Name, ["group"] = t.Group, ["kind"] = t.Resource, ["uid"] = uid },
            });
        }
    }

    /// <summary>
    /// Without a resourceVersion (or "0") the stream starts with ADDED for what exists, like real servers; from a
    /// resourceVersion it replays the kept history after it, or sends one ERROR 410 Expired and ends when that is gone.
    /// Simplified: a MODIFIED that moves an object out of the selector is dropped, not turned into DELETED.
    /// </summary>
    private async Task WatchAsync(HttpContext http, Target t)
    {
        Func<JsonObject, bool> matches;
        long? from;
        try
        {
            matches = Selector(http.Request.Query);
            from = (string?)http.Request.Query["resourceVersion"] is { Length: > 0 } rv and not "0" ? long.Parse(rv) : null;
        }
        catch (FormatException e)
        {
            http.Response.StatusCode = 400;
            await http.Response.WriteAsync(Fail(400, "BadRequest", e.Message).Body);
            return;
        }
        var watch = new Watch(t.Key, matches);
        List<Change> backlog = [];
        Change? expired = null;
        lock (_gate)
        {
            if (from < _oldestKept)
                expired = new(0, t.Key, "ERROR", Status(410, "Expired", $"too old resource version: {from} ({_oldestKept + 1})"));
            else
            {
                backlog = from is { } after
                    ? [.. _history.Where(c => c.Revision > after && watch.Sees(c))]
                    : [.. _objects.Where(o => o.Key with { Name = "" } == t.Key && matches(o.Value))
                        .Select(o => new Change(0, o.Key, "ADDED", o.Value))];
                _watches.Add(watch);
            }
        }
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        await http.Response.StartAsync();
        var timeout = int.TryParse(http.Request.Query["timeoutSeconds"], out var seconds) ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan;
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        ends.CancelAfter(timeout);
        try
        {
            if (expired is not null)
            {
                await SendAsync(expired);
                return;
            }
            foreach (var change in backlog) await SendAsync(change);
            await foreach (var change in watch.Events.Reader.ReadAllAsync(ends.Token)) await SendAsync(change);
        }
        catch (OperationCanceledException)
        {
            // the timeout or the client ended the watch: a clean end of stream either way
        }
        finally
        {
            lock (_gate) _watches.Remove(watch);
        }

        async Task SendAsync(Change change)
        {
            var line = new JsonObject { ["type"] = change.Type, ["object"] = change.Object.DeepClone() }.ToJsonString() + "\n";
            await http.Response.WriteAsync(line, ends.Token);
            await http.Response.Body.FlushAsync(ends.Token);
        }
    }

    /// <summary>One log per pod and kind (current / previous): the double runs one container per pod. tailLines, then
    /// limitBytes, cut it as real servers do.</summary>
    private Reply Log(Target t, IQueryCollection query)
    {
        JsonObject? pod;
        lock (_gate) pod = _objects.GetValueOrDefault(t.Key);
        if (pod is null) return NotFound(t);
        var containers = pod["spec"]?["containers"]?.AsArray().Select(c => c?["name"]?.GetValue<string>()).ToList() ?? [];
        var container = (string?)query["container"];
        if (container is not null && !containers.Contains(container))
            return Fail(400, "BadRequest", $"container {container} is not valid for pod {t.Name}");
        if (container is null && containers.Count > 1)
            return Fail(400, "BadRequest", $"a container name must be specified for pod {t.Name}, choose one of: [{string.Join(' ', containers)}]");
        if ((string?)query["follow"] == "true") return Fail(400, "BadRequest", NotImplemented("follow on pod logs"));
        var previous = (string?)query["previous"] == "true";
        if (!_logs.TryGetValue((t.Namespace, t.Name!, previous), out var text))
        {
            if (previous) return Fail(400, "BadRequest", $"previous terminated container \"{container ?? containers.FirstOrDefault()}\" in pod \"{t.Name}\" not found");
            text = "";
        }
        if (int.TryParse(query["tailLines"], out var tail) && text.Length > 0)
        {
            var ending = text.EndsWith('\n') ? "\n" : "";
            var lines = text.TrimEnd('\n').Split('\n');
            text = string.Join('\n', lines.TakeLast(tail)) + ending;
        }
        if (int.TryParse(query["limitBytes"], out var limit) && limit >= 0 && Encoding.UTF8.GetByteCount(text) > limit)
            text = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text), 0, limit); // real servers cut bytes; tests' logs are ASCII
        return new(200, text, "text/plain");
    }

    private Reply Proxy(Target t)
    {
        var split = t.Name!.LastIndexOf(':');
        var (pod, port) = split > 0 && int.TryParse(t.Name[(split + 1)..], out var p) ? (t.Name[..split], p) : (t.Name, 0);
        lock (_gate)
            if (!_objects.ContainsKey(t.Key with { Name = pod })) return NotFound(t with { Name = pod });
        return _proxies.TryGetValue((t.Namespace, pod, port), out var handler)
            ? new(200, handler("/" + t.Rest), "text/plain")
            : Fail(503, "ServiceUnavailable", $"error trying to reach service: nothing listens on {pod}:{port} (no handler registered with the double)");
    }

    /// <summary>Label selectors (=, ==, !=, exists, !exists, in, notin; comma is AND) and the metadata.name/namespace field selectors.</summary>
    private static Func<JsonObject, bool> Selector(IQueryCollection query)
    {
        var terms = new List<Func<JsonObject, bool>>();
        foreach (var term in Terms(query["labelSelector"]))
        {
            Match m;
            if ((m = Regex.Match(term, @"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$")).Success)
            {
                var (label, negate, set) = (m.Groups[1].Value, m.Groups[2].Value == "notin", m.Groups[3].Value.Split(',').Select(v => v.Trim()).ToHashSet());
                terms.Add(o => Label(o, label) is { } v ? set.Contains(v) != negate : negate);
            }
            else if ((m = Regex.Match(term, @"^([^\s!=]+)\s*(!=|==|=)\s*([^\s!=]*)$")).Success)
            {
                var (label, op, value) = (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value);
                terms.Add(op == "!=" ? o => Label(o, label) != value : o => Label(o, label) == value);
            }
            else if ((m = Regex.Match(term, @"^(!?)([^\s!=(),]+)$")).Success)
            {
                var (negate, label) = (m.Groups[1].Value == "!", m.Groups[2].Value);
                terms.Add(o => (Label(o, label) is not null) != negate);
            }
            else throw new FormatException($"unable to parse requirement: {term}");
        }
        foreach (var term in Terms(query["fieldSelector"]))
        {
            var m = Regex.Match(term, @"^metadata\.(name|namespace)\s*==?\s*(\S+)$");
            if (!m.Success) throw new FormatException(NotImplemented($"field selector {term}"));
            var (field, value) = (m.Groups[1].Value, m.Groups[2].Value);
            terms.Add(o => o["metadata"]?[field]?.GetValue<string>() == value);
        }
        return o => terms.All(term => term(o));

        static string? Label(JsonObject o, string label) => o["metadata"]?["labels"]?[label]?.GetValue<string>();

        // Commas inside "in (a,b)" belong to the set, not to the AND.
        static IEnumerable<string> Terms(string? selector) =>
            Regex.Split(selector ?? "", @",(?![^(]*\))").Select(s => s.Trim()).Where(s => s.Length > 0);
    }

    /// <summary>Who owns the fields a create, replace or merge patch sets: fieldManager, else the user agent's product, as real servers derive it.</summary>
    private static string Manager(HttpRequest request)
    {
        if ((string?)request.Query["fieldManager"] is { Length: > 0 } manager) return manager;
        var agent = request.Headers.UserAgent.ToString().Split('/')[0].Trim();
        return agent.Length > 0 ? agent : "unknown";
    }

    private static Reply? MismatchedNamespace(Target t, JsonObject obj) =>
        obj["metadata"]?["namespace"]?.GetValue<string>() is { } ns && ns != t.Namespace
            ? Fail(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
            : null;

    private static JsonObject Object(string body) =>
        JsonNode.Parse(body) as JsonObject ?? throw new JsonException("the body is not a JSON object");

    private static string NotImplemented(string what) => $"the Kubernetes API server double does not implement {what}";

    private static Reply Ok(JsonNode body, int code = 200) => new(code, body.ToJsonString());

    private static Reply NotFound(Target t) => Fail(404, "NotFound", $"{t.Qualified} \"{t.Name}\" not found", t);

    private static Reply Fail(int code, string reason, string message, Target? t = null, string? name = null)
    {
        var status = Status(code, reason, message);
        if (t is not null) status["details"] = new JsonObject { ["name"] = name ?? t.Name, ["group"] = t.Group, ["kind"] = t.Resource };
        return new(code, status.ToJsonString());
    }

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(),
        ["status"] = "Failure", ["message"] = message, ["reason"] = reason, ["code"] = code,
    };
}
