using EventMlOps.Contracts.Artifacts;
using EventMlOps.ControlPlane.Auth;

namespace EventMlOps.ControlPlane.Datasets;

/// <summary>Where datasets may live (<see cref="DataUris"/>): file:// datasets only under the local artifact store
/// (<c>Artifacts:Root</c>, default <c>$EMO_HOME/artifacts</c>, where <c>emo datasets register</c> puts files) and the
/// folders of <c>Datasets:Roots</c> (';'-separated). A root that holds or lies in this home's keys, database or job
/// folders, or a system folder, is refused at start. The agents read the same settings and check again before reading.</summary>
public sealed record DataLocations(IReadOnlyList<string> Roots)
{
    public static DataLocations From(IConfiguration config)
    {
        var home = EmoHome.Resolve(config);
        string[] protectedPaths = [Tokens.KeysFolder(config), Path.Combine(home, "pg"), Path.Combine(home, "agents")];
        var roots = (config["Datasets:Roots"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Prepend(config["Artifacts:Root"] is { Length: > 0 } artifacts ? artifacts : Path.Combine(home, "artifacts"))
            .Select(r => Path.GetFullPath(r).TrimEnd('/')).Distinct().ToList();
        foreach (var root in roots)
            if (DataUris.RootProblem(root, protectedPaths) is { } problem)
                throw new InvalidOperationException($"Datasets:Roots: {problem}; a data root must be a dedicated, absolute folder");
        return new DataLocations(roots);
    }

    public string? Problem(string? uri) => DataUris.Problem(uri, Roots);
}
