using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>
/// Server-side apply with field ownership, simplified but honest. Per object the double records which manager owns which
/// leaf paths. What it simplifies: a leaf is a scalar, an array or an empty object; arrays are atomic (real servers merge
/// <c>containers</c>, <c>env</c>, <c>ports</c>… by key, so two managers can own different containers there, not here);
/// ownership is not written back as <c>metadata.managedFields</c>; apply never touches <c>status</c>; the body must be
/// JSON (what KubernetesClient sends), not YAML. What it keeps: a conflicting value owned by another manager is a 409
/// unless forced (then ownership moves), equal values are co-owned, a field the manager stops sending is removed unless
/// someone else owns it, a no-op apply writes nothing, and creates, replaces and merge patches make their writer the owner
/// of the fields they changed (an Update entry apart from the same manager's Apply entry), so an apply later conflicts with
/// them, and leaving them out of an apply does not remove them, as on a real server.
/// </summary>
public sealed partial class ApiServerDouble
{
    private const char Sep = '\u0001'; // label keys contain dots and slashes, so paths are joined by a character they cannot hold

    /// <summary>Identity and server-owned fields: nobody owns them through apply.</summary>
    private static readonly HashSet<string> Unowned =
    [
        "apiVersion", "kind", "status",
        .. new[] { "name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp", "managedFields" }
            .Select(field => "metadata" + Sep + field),
    ];

    private readonly Dictionary<Key, Dictionary<string, HashSet<string>>> _owners = [];

    private Reply Apply(Target t, string kind, JsonObject applied, IQueryCollection query)
    {
        if ((string?)query["fieldManager"] is not { Length: > 0 } manager)
            return Fail(400, "BadRequest", "PATCH /apply requires fieldManager to be set (fieldManager is required for apply requests)");
        var force = (string?)query["force"] == "true";
        var apiVersion = ApiVersion(t.Group, t.Version);
        if (applied["kind"]?.GetValue<string>() != kind || applied["apiVersion"]?.GetValue<string>() != apiVersion)
            return Fail(400, "BadRequest", $"an apply to {t.Qualified} must set kind: {kind} and apiVersion: {apiVersion}");
        if (applied["metadata"]?["name"]?.GetValue<string>() != t.Name)
            return Fail(400, "BadRequest", "the name of the object does not match the name on the URL");
        if (MismatchedNamespace(t, applied) is { } mismatch) return mismatch;
        applied.Remove("status");
        var fields = Leaves(applied);
        lock (_gate)
        {
            var current = _objects.GetValueOrDefault(t.Key);
            var owners = _owners.GetValueOrDefault(t.Key) ?? [];
            var conflicts = current is null ? [] : fields
                .Where(f => At(current, f.Key) is { } had && !JsonNode.DeepEquals(had, f.Value))
                .SelectMany(f => owners.Where(o => o.Key != manager && o.Value.Contains(f.Key)).Select(o => (Path: f.Key, Manager: o.Key)))
                .ToList();
            if (conflicts.Count > 0 && !force)
                return Fail(409, "Conflict", $"Apply failed with {conflicts.Count} conflict{(conflicts.Count == 1 ? "" : "s")}: "
                    + string.Join("; ", conflicts.Select(c => $"conflict with \"{c.Manager.Split(UpdateOperation)[0]}\": {Display(c.Path)}")), t);
            foreach (var (path, other) in conflicts) owners[other].Remove(path);

            var next = current?.DeepClone().AsObject() ?? new JsonObject();
            foreach (var dropped in owners.GetValueOrDefault(manager, []).Where(p => !fields.ContainsKey(p)))
                if (!owners.Any(o => o.Key != manager && o.Value.Contains(dropped))) RemoveAt(next, dropped);
            Merge(next, applied);
            if (current is null) ClearServerFields(next);
            else KeepServerFields(next, current);
            Stamp(next, t.Key, kind, uid: null);
            var stored = Commit(t.Key, current, next);
            owners[manager] = [.. fields.Keys];
            _owners[t.Key] = owners;
            return Ok(stored.DeepClone(), current is null ? 201 : 200);
        }
    }

    /// <summary>Real servers keep a manager's Apply and Update operations apart (managedFields entries by manager and
    /// operation): what a manager set by a merge patch is not dropped when its apply leaves it out.</summary>
    private const string UpdateOperation = "\u0002Update";

    /// <summary>An update operation owns what it changed (as its manager's Update entry); fields that are gone have no owner left.</summary>
    private void TakeOwnership(Key key, string manager, JsonObject? before, JsonObject after)
    {
        var owners = _owners.TryGetValue(key, out var known) ? known : _owners[key] = [];
        var now = Leaves(after);
        var changed = now.Where(f => before is null || !JsonNode.DeepEquals(At(before, f.Key), f.Value)).Select(f => f.Key).ToList();
        foreach (var owned in owners.Values)
        {
            owned.RemoveWhere(p => !now.ContainsKey(p));
            owned.ExceptWith(changed);
        }
        if (!owners.TryGetValue(manager + UpdateOperation, out var mine)) owners[manager + UpdateOperation] = mine = [];
        mine.UnionWith(changed);
    }

    private static Dictionary<string, JsonNode> Leaves(JsonObject obj)
    {
        var leaves = new Dictionary<string, JsonNode>();
        Walk(obj, "");
        return leaves;

        void Walk(JsonObject node, string prefix)
        {
            foreach (var (name, value) in node)
            {
                var path = prefix.Length == 0 ? name : prefix + Sep + name;
                if (value is null || Unowned.Contains(path)) continue;
                if (value is JsonObject { Count: > 0 } child) Walk(child, path);
                else leaves[path] = value;
            }
        }
    }

    private static JsonNode? At(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        if (path.Length == 0) return node;
        foreach (var segment in path.Split(Sep)) node = node is JsonObject o ? o[segment] : null;
        return node;
    }

    /// <summary>Removes a leaf and the objects it leaves empty, but never a top-level section such as spec.</summary>
    private static void RemoveAt(JsonObject obj, string path)
    {
        var segments = path.Split(Sep);
        for (var depth = segments.Length; depth >= 1; depth--)
        {
            if (At(obj, string.Join(Sep, segments[..(depth - 1)])) is not JsonObject parent) return;
            var name = segments[depth - 1];
            if (depth < segments.Length && (parent[name] is not JsonObject { Count: 0 } || depth == 1)) return;
            parent.Remove(name);
        }
    }

    /// <summary>JSON merge patch (RFC 7386): objects merge, null removes, anything else replaces. Apply merges the same way.</summary>
    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            if (value is null) target.Remove(name);
            else if (value is JsonObject from && target[name] is JsonObject into) Merge(into, from);
            else target[name] = value.DeepClone();
        }
    }

    private static void ClearServerFields(JsonObject obj)
    {
        foreach (var field in new[] { "uid", "creationTimestamp", "generation", "deletionTimestamp", "resourceVersion" }) Meta(obj).Remove(field);
        obj.Remove("status"); // status is the controllers' to write
    }

    private static string Display(string path) => "." + path.Replace(Sep, '.');
}
