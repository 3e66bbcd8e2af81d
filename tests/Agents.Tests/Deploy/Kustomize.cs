using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Sdk;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

using EventMlOps.Agents.Tests.Testing;

namespace EventMlOps.Agents.Tests.Deploy;

/// <summary>
/// Renders a kustomization as an operator does, with <c>kubectl kustomize</c> as a real process, and reads the output as
/// JSON objects (YAML plain scalars typed by the YAML 1.2 core schema, as the API server's decoder types them; quoted
/// scalars stay strings).
/// </summary>
public static partial class Kustomize
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The objects <c>kubectl kustomize <paramref name="folder"/></c> renders; fails the test with kubectl's
    /// message when it does not render.</summary>
    public static async Task<IReadOnlyList<JsonObject>> RenderAsync(string folder, string kubectl = "kubectl", params string[] extra)
    {
        await RequireKustomize5Async(kubectl);
        var (code, stdout, stderr) = await RunAsync(kubectl, ["kustomize", folder, .. extra]);
        if (code != 0) throw new XunitException($"kubectl kustomize {folder} failed ({code}):\n{stderr.Trim()}");
        return Objects(stdout);
    }

    /// <summary>Renders <paramref name="overlay"/> with <paramref name="component"/> added, through a kustomization written
    /// in a temporary folder (outside the repository, hence LoadRestrictionsNone; kustomize takes no absolute folder, hence
    /// paths relative to it): how a component that no overlay
    /// includes (an alternative such as plain Secrets instead of Vault) is rendered through an overlay.</summary>
    public static async Task<IReadOnlyList<JsonObject>> RenderWithAsync(string overlay, string component, string kubectl = "kubectl")
    {
        var folder = Directory.CreateTempSubdirectory("emo-kustomize-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "kustomization.yaml"), $"""
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                - {JsonSerializer.Serialize(Path.GetRelativePath(folder, Path.GetFullPath(overlay)))}
                components:
                - {JsonSerializer.Serialize(Path.GetRelativePath(folder, Path.GetFullPath(component)))}
                """);
            return await RenderAsync(folder, kubectl, "--load-restrictor=LoadRestrictionsNone");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The <c>components:</c> a kustomization lists, as full paths (resolved against its folder).</summary>
    public static IReadOnlyList<string> ComponentsOf(string folder)
    {
        var file = new[] { "kustomization.yaml", "kustomization.yml", "Kustomization" }.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists)
            ?? throw new XunitException($"{folder} has no kustomization.yaml");
        var documents = Objects(File.ReadAllText(file));
        return [.. documents.SelectMany(d => d["components"] as JsonArray ?? [])
            .Select(c => Path.GetFullPath(Path.Combine(folder, c!.GetValue<string>())).TrimEnd(Path.DirectorySeparatorChar))];
    }

    private static readonly Dictionary<string, string> KustomizeVersions = [];

    /// <summary>deploy/kubernetes uses components and <c>labels:</c>, which the kustomize of old kubectl releases (Debian
    /// 12's kubernetes-client is 1.20) does not know: say so instead of failing on the first manifest.</summary>
    private static async Task RequireKustomize5Async(string kubectl)
    {
        string? version;
        lock (KustomizeVersions) KustomizeVersions.TryGetValue(kubectl, out version);
        if (version is null)
        {
            var (code, stdout, stderr) = await RunAsync(kubectl, ["version", "--client", "-o", "json"]);
            if (code != 0) throw new XunitException($"kubectl version --client failed ({code}): {stderr.Trim()}");
            version = JsonNode.Parse(stdout)?["kustomizeVersion"]?.GetValue<string>() ?? "";
            lock (KustomizeVersions) KustomizeVersions[kubectl] = version;
        }
        if (KustomizeMajor().Match(version) is not { Success: true } m || int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) < 5)
            throw new XunitException($"kubectl ({kubectl}) embeds kustomize '{(version == "" ? "unknown (older than kubectl 1.24)" : version)}'; " +
                "deploy/kubernetes needs kustomize 5 or later: install kubectl 1.27 or later (the tests were written against kubectl 1.32, kustomize 5.5)");
    }

    [GeneratedRegex(@"^v?(\d+)\.")]
    private static partial Regex KustomizeMajor();

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string kubectl, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(kubectl) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{kubectl} did not start");
        }
        catch (Win32Exception e)
        {
            throw new XunitException($"kubectl is not installed ({kubectl}: {e.Message}): install kubernetes-client " +
                "(apt-get install kubernetes-client; ./emo test does it) or kubectl 1.27 or later");
        }
        return await ToolProcess.RunAsync(process, input: null, Timeout);
    }

    /// <summary>Every non-empty document of a YAML stream, as JSON.</summary>
    public static IReadOnlyList<JsonObject> Objects(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => Json(d.RootNode)).OfType<JsonObject>()];
    }

    private static JsonNode? Json(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", Json(c.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(Json)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType} at {node.Start}"),
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain || scalar.Tag == "tag:yaml.org,2002:str") return JsonValue.Create(text);
        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => JsonValue.Create(n),
            _ when Float().IsMatch(text) => JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture)),
            _ => JsonValue.Create(text),
        };
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
