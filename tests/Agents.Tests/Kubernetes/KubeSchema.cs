using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Xunit.Sdk;

using EventMlOps.Agents.Tests.Testing;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>One object's verdict: its position in the batch, what it claims to be, and the validator's message.</summary>
public sealed record SchemaResult(int Index, string? Kind, string? Name, bool Ok, string? Error);

/// <summary>
/// Validates Kubernetes objects as the API server's schemas see them: the objects are serialized with
/// <see cref="KubernetesJson"/> (as the client sends them) and checked by <c>tests/node/validate.mjs</c>
/// (kubernetes-models, compiled from the official OpenAPI schemas), one Node process per call — batch the objects.
/// Those schemas do not reject unknown fields, so field names are checked here too, against KubernetesClient's models.
/// </summary>
public static class KubeSchema
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly JsonSerializerOptions ResultJson = new(JsonSerializerDefaults.Web);

    /// <summary>Objects are KubernetesClient models (<see cref="IKubernetesObject"/>) or raw JSON (a string,
    /// <see cref="JsonNode"/> or <see cref="JsonElement"/>); apiVersion and kind must be set (<c>.Initialize()</c>).</summary>
    public static async Task<IReadOnlyList<SchemaResult>> ValidateAsync(IEnumerable<object> objects)
    {
        var nodes = objects.Select(ToJson).ToList();
        var results = await RunValidatorAsync(new JsonArray([.. nodes.Select(n => n?.DeepClone())]).ToJsonString());
        if (results.Count != nodes.Count)
            throw new InvalidOperationException($"validate.mjs answered {results.Count} results for {nodes.Count} objects");
        return [.. results.Select((r, i) => WithUnknownFields(r, nodes[i]))];
    }

    /// <summary>Fails the test with every error of every invalid object.</summary>
    public static async Task RequireValidAsync(params object[] objects)
    {
        var failures = (await ValidateAsync(objects)).Where(r => !r.Ok).ToList();
        if (failures.Count > 0)
            throw new XunitException("Kubernetes objects fail the schema:\n" +
                string.Join("\n", failures.Select(f => $"  [{f.Index}] {f.Kind ?? "?"} {f.Name ?? "?"}: {f.Error}")));
    }

    private static JsonNode? ToJson(object value) => value switch
    {
        string json => JsonNode.Parse(json),
        JsonNode node => node,
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        IKubernetesObject model => JsonNode.Parse(KubernetesJson.Serialize(model)),
        _ => throw new ArgumentException($"{value.GetType()} is neither a Kubernetes model nor JSON", nameof(value)),
    };

    private static async Task<IReadOnlyList<SchemaResult>> RunValidatorAsync(string input)
    {
        var folder = Path.Combine(TestHost.RepoRoot(), "tests", "node");
        if (!File.Exists(Path.Combine(folder, "node_modules", "kubernetes-models", "package.json")))
            throw new XunitException($"kubernetes-models is not installed in {folder}: run ./emo test, or npm ci --prefix tests/node");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        start.ArgumentList.Add(Path.Combine(folder, "validate.mjs"));
        var (code, stdout, stderr) = await ToolProcess.RunAsync(Process.Start(start) ?? throw new InvalidOperationException("node did not start"), input, Timeout);
        // 0: all valid, 1: some invalid; anything else (2: bad input or installation, a crash) is the harness failing.
        if (code is not (0 or 1))
            throw new InvalidOperationException($"validate.mjs exited with {code}: {stderr}");
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonSerializer.Deserialize<SchemaResult>(line, ResultJson)!)];
    }

    private static SchemaResult WithUnknownFields(SchemaResult result, JsonNode? node)
    {
        if (node is not JsonObject obj || EntityType(Text(obj["apiVersion"]), Text(obj["kind"])) is not { } type)
            return result; // the validator has already refused what it does not know
        var unknown = UnknownFields(obj, type, "").ToList();
        if (unknown.Count == 0) return result;
        var message = string.Join(", ", unknown.Select(u => $"data{u} is not a known field"));
        return result with { Ok = false, Error = result.Error is null ? message : $"{result.Error}, {message}" };
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static readonly Lazy<Dictionary<(string ApiVersion, string Kind), Type>> Entities = new(() =>
        typeof(V1Job).Assembly.GetTypes()
            .Select(t => (Type: t, Entity: t.GetCustomAttribute<KubernetesEntityAttribute>()))
            .Where(e => e.Entity is { Kind: not null, ApiVersion: not null } && !e.Type.Name.EndsWith("List", StringComparison.Ordinal))
            .GroupBy(e => (string.IsNullOrEmpty(e.Entity!.Group) ? e.Entity.ApiVersion : $"{e.Entity.Group}/{e.Entity.ApiVersion}", e.Entity.Kind))
            .ToDictionary(g => g.Key, g => g.First().Type));

    private static Type? EntityType(string? apiVersion, string? kind) =>
        apiVersion is null || kind is null ? null : Entities.Value.GetValueOrDefault((apiVersion, kind));

    /// <summary>JSON pointers of the properties that the model type (walked like the serializer walks it) does not have;
    /// maps accept any key, scalars and type mismatches are left to the schema.</summary>
    private static IEnumerable<string> UnknownFields(JsonNode? node, Type type, string path)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        switch (node)
        {
            case JsonObject obj when Generic(type, typeof(IDictionary<,>)) is [_, var valueType]:
                foreach (var (key, value) in obj)
                    foreach (var u in UnknownFields(value, valueType, $"{path}/{key}")) yield return u;
                break;
            case JsonObject obj when type.Namespace == "k8s.Models" && type.IsClass:
                var fields = Fields(type);
                foreach (var (key, value) in obj)
                {
                    if (!fields.TryGetValue(key, out var fieldType)) yield return $"{path}/{key}";
                    else foreach (var u in UnknownFields(value, fieldType, $"{path}/{key}")) yield return u;
                }
                break;
            case JsonArray array when type != typeof(string) && Generic(type, typeof(IEnumerable<>)) is [var itemType]:
                for (var i = 0; i < array.Count; i++)
                    foreach (var u in UnknownFields(array[i], itemType, $"{path}/{i}")) yield return u;
                break;
        }
    }

    private static Type[]? Generic(Type type, Type definition) =>
        (type.IsGenericType && type.GetGenericTypeDefinition() == definition ? type : null)?.GetGenericArguments()
        ?? type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition)?.GetGenericArguments();

    private static Dictionary<string, Type> Fields(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .ToDictionary(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(p.Name), p => p.PropertyType);
}
