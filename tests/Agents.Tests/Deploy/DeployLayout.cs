using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Xunit.Sdk;

namespace EventMlOps.Agents.Tests.Deploy;

/// <summary>One kustomization as rendered: an overlay, or an overlay with a component that no overlay includes.</summary>
public sealed record Rendering(string Name, IReadOnlyList<JsonObject> Objects, string? Error)
{
    public override string ToString() => Name;
}

/// <summary>
/// The layout of a deployment tree (deploy/kubernetes, or a fixture shaped like it): <c>base/</c>, <c>overlays/*</c>,
/// <c>components/*</c>. Every overlay is rendered; every component is rendered through the overlays: by the overlays
/// that list it, else (an alternative such as plain Secrets) added to each overlay in turn. Renders are cached per tree.
/// </summary>
public static class DeployLayout
{
    public static string Real => Path.Combine(TestHost.RepoRoot(), "deploy", "kubernetes");

    public static string Fixture(string name) => Path.Combine(TestHost.RepoRoot(), "tests", "Agents.Tests", "Deploy", "Fixtures", name);

    /// <summary>Skips the calling test while deploy/kubernetes has not landed in this checkout.</summary>
    public static void SkipUntilTheManifestsExist() =>
        Assert.SkipUnless(Directory.Exists(Real), "deploy/kubernetes does not exist in this checkout yet: these tests run over its overlays once it does");

    public static IReadOnlyList<string> Overlays(string root)
    {
        var folder = Path.Combine(root, "overlays");
        if (!Directory.Exists(folder)) throw new XunitException($"{folder} does not exist: every deployment tree has overlays");
        var overlays = Directory.GetDirectories(folder).Order(StringComparer.Ordinal).ToList();
        if (overlays.Count == 0) throw new XunitException($"{folder} holds no overlay");
        return overlays;
    }

    public static IReadOnlyList<string> Components(string root)
    {
        var folder = Path.Combine(root, "components");
        return Directory.Exists(folder) ? [.. Directory.GetDirectories(folder).Order(StringComparer.Ordinal)] : [];
    }

    private static readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<Rendering>>>> Cache = new();

    public static Task<IReadOnlyList<Rendering>> RenderAllAsync(string root) =>
        Cache.GetOrAdd(Path.GetFullPath(root), r => new Lazy<Task<IReadOnlyList<Rendering>>>(() => RenderAsync(r))).Value;

    /// <summary>The renders that succeeded; fails with every render that did not.</summary>
    public static async Task<IReadOnlyList<Rendering>> RenderedAsync(string root)
    {
        var all = await RenderAllAsync(root);
        var failed = all.Where(r => r.Error is not null).ToList();
        if (failed.Count > 0)
            throw new XunitException(string.Join("\n", failed.Select(f => $"{f.Name} does not render: {f.Error}")));
        return all;
    }

    private static async Task<IReadOnlyList<Rendering>> RenderAsync(string root)
    {
        var overlays = Overlays(root);
        var renders = new List<Rendering>();
        foreach (var overlay in overlays)
            renders.Add(await Try(Relative(root, overlay), () => Kustomize.RenderAsync(overlay)));
        var included = overlays.SelectMany(o => File.Exists(Path.Combine(o, "kustomization.yaml")) ? Kustomize.ComponentsOf(o) : []).ToHashSet();
        foreach (var component in Components(root).Where(c => !included.Contains(Path.GetFullPath(c))))
            foreach (var overlay in overlays)
                renders.Add(await Try($"{Relative(root, overlay)} + {Relative(root, component)}", () => Kustomize.RenderWithAsync(overlay, component)));
        return renders;
    }

    private static async Task<Rendering> Try(string name, Func<Task<IReadOnlyList<JsonObject>>> render)
    {
        try
        {
            return new Rendering(name, await render(), null);
        }
        catch (XunitException e)
        {
            return new Rendering(name, [], e.Message);
        }
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path);

    /// <summary>"Kind namespace/name", how a violation names its object.</summary>
    public static string Describe(JsonObject obj) =>
        $"{Text(obj["kind"]) ?? "?"} {(Text(obj["metadata"]?["namespace"]) is { } ns ? ns + "/" : "")}{Text(obj["metadata"]?["name"]) ?? "?"}";

    public static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
