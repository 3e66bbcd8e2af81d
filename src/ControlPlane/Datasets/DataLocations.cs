using EventMlOps.ControlPlane.Auth;

namespace EventMlOps.ControlPlane.Datasets;

/// <summary>Where datasets may live (<see cref="EventMlOps.Contracts.Artifacts.DataUris"/>): <c>Datasets:Roots</c>
/// (';'-separated folders; when set, file:// datasets must lie under one of them) and the locations never read whatever the
/// roots say — this home's keys and database, besides the system folders.</summary>
public sealed record DataLocations(IReadOnlyList<string> Roots, IReadOnlyList<string> Protected)
{
    public static DataLocations From(IConfiguration config)
    {
        var home = EmoHome.Resolve(config);
        var protectedPaths = new[] { Tokens.KeysFolder(config), Path.Combine(home, "pg") };
        var roots = (config["Datasets:Roots"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(r => Path.GetFullPath(r).TrimEnd('/')).ToList();
        foreach (var root in roots)
            if (root.Length == 0 || protectedPaths.Concat(EventMlOps.Contracts.Artifacts.DataUris.SystemPaths)
                    .Any(p => EventMlOps.Contracts.Artifacts.DataUris.Under(p, root) || EventMlOps.Contracts.Artifacts.DataUris.Under(root, p)))
                throw new InvalidOperationException($"Datasets:Roots: '{root}' contains or lies in a protected location (keys, database, system folders)");
        return new DataLocations(roots, protectedPaths);
    }

    public string? Problem(string? uri) => EventMlOps.Contracts.Artifacts.DataUris.Problem(uri, Roots, Protected);
}
