using EventMlOps.ControlPlane.Auth;

namespace EventMlOps.ControlPlane.Datasets;

/// <summary>Where datasets may live (<see cref="EventMlOps.Contracts.Artifacts.DataUris"/>): file:// datasets only under the
/// local artifact store (<c>Artifacts:Root</c>, default <c>$EMO_HOME/artifacts</c>, where <c>emo datasets register</c> puts
/// files) and the folders of <c>Datasets:Roots</c> (';'-separated) — and never in this home's keys or database or the system
/// folders, whatever the roots say.</summary>
public sealed record DataLocations(IReadOnlyList<string> Roots, IReadOnlyList<string> Protected)
{
    public static DataLocations From(IConfiguration config)
    {
        var home = EmoHome.Resolve(config);
        var protectedPaths = new[] { Tokens.KeysFolder(config), Path.Combine(home, "pg") };
        var roots = (config["Datasets:Roots"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Append(config["Artifacts:Root"] is { Length: > 0 } artifacts ? artifacts : Path.Combine(home, "artifacts"))
            .Select(r => Path.GetFullPath(r).TrimEnd('/')).Distinct().ToList();
        foreach (var root in roots)
            if (root.Length == 0 || protectedPaths.Concat(EventMlOps.Contracts.Artifacts.DataUris.SystemPaths)
                    .Any(p => EventMlOps.Contracts.Artifacts.DataUris.Under(p, root) || EventMlOps.Contracts.Artifacts.DataUris.Under(root, p)))
                throw new InvalidOperationException($"Datasets:Roots: '{root}' contains or lies in a protected location (keys, database, system folders)");
        return new DataLocations(roots, protectedPaths);
    }

    public string? Problem(string? uri) => EventMlOps.Contracts.Artifacts.DataUris.Problem(uri, Roots, Protected);
}
