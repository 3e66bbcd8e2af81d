using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EventMlOps.Agents.Tests.Kubernetes;
using k8s;
using k8s.Models;
using static EventMlOps.Agents.Tests.Deploy.DeployLayout;

namespace EventMlOps.Agents.Tests.Deploy;

/// <summary>
/// What every rendered deployment must hold to, as pure checks over its objects: each answers one line per violation,
/// naming the object ("Kind namespace/name: why"), and nothing when the objects comply.
/// </summary>
public static partial class DeployPolicy
{
    public const string Namespace = "eventmlops";

    /// <summary>Kinds that live outside namespaces; every other object must be in the restricted namespace.</summary>
    private static readonly HashSet<string> ClusterScoped =
    [
        "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "StorageClass",
        "IngressClass", "RuntimeClass", "PersistentVolume", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
    ];

    public static IReadOnlyList<string> All(IReadOnlyList<JsonObject> objects) =>
    [
        .. RestrictedPodSecurity(objects), .. PinnedImages(objects), .. Resources(objects), .. NoSecretValues(objects),
        .. LeastPrivilege(objects), .. NetworkPolicyCoverage(objects), .. RestrictedNamespace(objects),
    ];

    /// <summary>The pod templates of workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) and bare Pods.</summary>
    public static IEnumerable<(JsonObject Owner, JsonObject Template)> PodTemplates(IEnumerable<JsonObject> objects)
    {
        foreach (var obj in objects)
        {
            var template = Text(obj["kind"]) switch
            {
                "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "Job" => obj["spec"]?["template"],
                "CronJob" => obj["spec"]?["jobTemplate"]?["spec"]?["template"],
                "Pod" => obj,
                _ => null,
            };
            if (template is JsonObject t) yield return (obj, t);
            else if (Text(obj["kind"]) is "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "Job" or "CronJob")
                yield return (obj, new JsonObject()); // a workload without a template: reported as such
        }
    }

    private static IEnumerable<JsonObject> Containers(JsonObject template) =>
        new[] { "initContainers", "containers", "ephemeralContainers" }
            .SelectMany(k => template["spec"]?[k] as JsonArray ?? []).OfType<JsonObject>();

    /// <summary>The restricted Pod Security Standard (and a read-only root filesystem) on every pod template.</summary>
    public static IReadOnlyList<string> RestrictedPodSecurity(IEnumerable<JsonObject> objects) =>
    [
        .. PodTemplates(objects).SelectMany(p =>
            PodSecurity.RestrictedViolations(KubernetesJson.Deserialize<V1PodTemplateSpec>(p.Template.ToJsonString()))
                .Select(v => $"{Describe(p.Owner)}: {v}")),
    ];

    /// <summary>Every image (any <c>image</c> or <c>imageName</c> string, in pod templates and custom resources alike)
    /// names a tag or a digest, and never <c>:latest</c>.</summary>
    public static IReadOnlyList<string> PinnedImages(IEnumerable<JsonObject> objects) =>
    [
        .. objects.SelectMany(o => Properties(o, "image", "imageName")
            .Select(image => (image, problem: ImageProblem(image)))
            .Where(i => i.problem is not null)
            .Select(i => $"{Describe(o)}: image '{i.image}' {i.problem}")),
    ];

    public static string? ImageProblem(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        var name = at >= 0 ? image[..at] : image;
        var colon = name.IndexOf(':', name.LastIndexOf('/') + 1);
        var tag = colon >= 0 ? name[(colon + 1)..] : null;
        if (tag == "latest") return "uses the tag latest";
        if (string.IsNullOrEmpty(tag) && at < 0) return "has no tag";
        return null;
    }

    /// <summary>Every container of every pod template requests CPU and memory and limits memory.</summary>
    public static IReadOnlyList<string> Resources(IEnumerable<JsonObject> objects) =>
    [
        .. PodTemplates(objects).SelectMany(p => Containers(p.Template).SelectMany(c =>
            new[] { ("requests", "cpu"), ("requests", "memory"), ("limits", "memory") }
                .Where(r => c["resources"]?[r.Item1]?[r.Item2] is null)
                .Select(r => $"{Describe(p.Owner)}: container '{Text(c["name"])}' has no {r.Item1}.{r.Item2}"))),
    ];

    /// <summary>No secret value in a manifest: no Secret with data or stringData, and no environment variable named like a
    /// secret (PASSWORD, SECRET, TOKEN, KEY) with a literal value — except one naming a file (…File, …_FILE, …Path,
    /// …_PATH) whose value is an absolute path: where a secret is mounted is not a secret.</summary>
    public static IReadOnlyList<string> NoSecretValues(IEnumerable<JsonObject> objects)
    {
        var violations = new List<string>();
        foreach (var obj in objects)
        {
            if (Text(obj["kind"]) == "Secret")
                foreach (var field in new[] { "data", "stringData" }.Where(f => obj[f] is JsonObject { Count: > 0 }))
                    violations.Add($"{Describe(obj)}: a Secret with {field} in a manifest (secrets come from Vault, or Secrets created out of band)");
            foreach (var env in Arrays(obj, "env").SelectMany(a => a).OfType<JsonObject>())
            {
                var name = Text(env["name"]) ?? "";
                var value = Text(env["value"]) ?? env["value"]?.ToJsonString();
                if (string.IsNullOrEmpty(value) || !SecretName().IsMatch(name)) continue;
                if (FileName().IsMatch(name) && value.StartsWith('/')) continue;
                violations.Add($"{Describe(obj)}: environment variable {name} has a literal value (use valueFrom.secretKeyRef or a mounted file)");
            }
        }
        return violations;
    }

    [GeneratedRegex("PASSWORD|SECRET|TOKEN|KEY", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex("(File|_FILE|Path|_PATH)$")]
    private static partial Regex FileName();

    /// <summary>Least privilege: no ClusterRole or ClusterRoleBinding, no RoleBinding to a ClusterRole, no wildcard in a
    /// Role's apiGroups, resources or verbs, and Roles and RoleBindings only in the namespace.</summary>
    public static IReadOnlyList<string> LeastPrivilege(IEnumerable<JsonObject> objects)
    {
        var violations = new List<string>();
        foreach (var obj in objects)
        {
            switch (Text(obj["kind"]))
            {
                case "ClusterRole" or "ClusterRoleBinding":
                    violations.Add($"{Describe(obj)}: cluster-wide permissions (the agents need a Role in their namespace only)");
                    break;
                case "Role" or "RoleBinding" when Text(obj["metadata"]?["namespace"]) != Namespace:
                    violations.Add($"{Describe(obj)}: not in the namespace {Namespace}");
                    break;
            }
            if (Text(obj["kind"]) == "RoleBinding" && Text(obj["roleRef"]?["kind"]) != "Role")
                violations.Add($"{Describe(obj)}: binds a {Text(obj["roleRef"]?["kind"])} ('{Text(obj["roleRef"]?["name"])}'), not a Role of the namespace");
            if (Text(obj["kind"]) == "Role")
                foreach (var (rule, i) in (obj["rules"] as JsonArray ?? []).Select((r, i) => (r, i)))
                    foreach (var field in new[] { "apiGroups", "resources", "verbs" })
                        if ((rule?[field] as JsonArray ?? []).Any(v => Text(v) == "*"))
                            violations.Add($"{Describe(obj)}: rule {i} has '*' in {field}");
        }
        return violations;
    }

    /// <summary>Every Service with a selector is covered by an ingress NetworkPolicy of its namespace: the policy's
    /// podSelector selects every pod the Service selects (its matchLabels ⊆ the Service's selector; its expressions hold
    /// for the selector's labels).</summary>
    public static IReadOnlyList<string> NetworkPolicyCoverage(IReadOnlyList<JsonObject> objects)
    {
        var policies = objects.Where(o => Text(o["kind"]) == "NetworkPolicy" && RestrictsIngress(o)).ToList();
        var violations = new List<string>();
        foreach (var service in objects.Where(o => Text(o["kind"]) == "Service"))
        {
            if (service["spec"]?["selector"] is not JsonObject { Count: > 0 } selector) continue; // no pods: nothing to protect
            var labels = selector.ToDictionary(p => p.Key, p => Text(p.Value) ?? "");
            var ns = Text(service["metadata"]?["namespace"]);
            if (!policies.Any(p => Text(p["metadata"]?["namespace"]) == ns && Selects(p["spec"]?["podSelector"] as JsonObject, labels)))
                violations.Add($"{Describe(service)}: no NetworkPolicy (with Ingress) selects its pods ({string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))})");
        }
        return violations;
    }

    private static bool RestrictsIngress(JsonObject policy) => policy["spec"]?["policyTypes"] is JsonArray types
        ? types.Any(t => Text(t) == "Ingress")
        : true; // without policyTypes, a policy always restricts ingress

    /// <summary>Whether a label selector selects every pod that carries <paramref name="labels"/> (and perhaps more labels).</summary>
    public static bool Selects(JsonObject? selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector is null) return false; // podSelector is required; an empty one ({}) selects every pod
        foreach (var (key, value) in selector["matchLabels"] as JsonObject ?? [])
            if (!labels.TryGetValue(key, out var actual) || actual != Text(value)) return false;
        foreach (var expression in (selector["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var key = Text(expression["key"]) ?? "";
            var values = (expression["values"] as JsonArray ?? []).Select(Text).ToHashSet();
            var has = labels.TryGetValue(key, out var actual);
            var holds = Text(expression["operator"]) switch
            {
                "In" => has && values.Contains(actual),
                "NotIn" => has && !values.Contains(actual),
                "Exists" => has,
                _ => false, // DoesNotExist: a pod may carry more labels than the Service selects on
            };
            if (!holds) return false;
        }
        return true;
    }

    /// <summary>The namespace is rendered, enforces (and audits and warns about) the restricted Pod Security Standard,
    /// and every namespaced object is in it.</summary>
    public static IReadOnlyList<string> RestrictedNamespace(IReadOnlyList<JsonObject> objects)
    {
        var violations = new List<string>();
        var ns = objects.FirstOrDefault(o => Text(o["kind"]) == "Namespace" && Text(o["metadata"]?["name"]) == Namespace);
        if (ns is null) violations.Add($"no Namespace {Namespace} is rendered");
        else
            foreach (var mode in new[] { "enforce", "audit", "warn" })
                if (Text(ns["metadata"]?["labels"]?[$"pod-security.kubernetes.io/{mode}"]) != "restricted")
                    violations.Add($"{Describe(ns)}: pod-security.kubernetes.io/{mode} is not 'restricted'");
        foreach (var obj in objects.Where(o => !ClusterScoped.Contains(Text(o["kind"]) ?? "")))
            if (Text(obj["metadata"]?["namespace"]) != Namespace)
                violations.Add($"{Describe(obj)}: not in the namespace {Namespace}");
        foreach (var other in objects.Where(o => Text(o["kind"]) == "Namespace" && o != ns))
            violations.Add($"{Describe(other)}: a second namespace");
        return violations;
    }

    /// <summary>Every string value of a property named one of <paramref name="names"/>, anywhere in the object.</summary>
    private static IEnumerable<string> Properties(JsonNode? node, params string[] names) => node switch
    {
        JsonObject obj => obj.SelectMany(p => names.Contains(p.Key) && Text(p.Value) is { } s ? [s] : Properties(p.Value, names)),
        JsonArray array => array.SelectMany(n => Properties(n, names)),
        _ => [],
    };

    /// <summary>Every array held by a property named <paramref name="name"/>, anywhere in the object.</summary>
    private static IEnumerable<JsonArray> Arrays(JsonNode? node, string name) => node switch
    {
        JsonObject obj => obj.SelectMany(p => p.Key == name && p.Value is JsonArray a ? Arrays(a, name).Prepend(a) : Arrays(p.Value, name)),
        JsonArray array => array.SelectMany(n => Arrays(n, name)),
        _ => [],
    };
}
