using EventMlOps.Contracts.Artifacts;
using EventMlOps.ControlPlane.Auth;

namespace EventMlOps.ControlPlane.Datasets;

/// <summary>Where datasets may live (<see cref="DataUris"/>): file:// datasets only under the local artifact store
/// (<c>Artifacts:Root</c>, default <c>$EMO_HOME/artifacts</c>, where <c>emo datasets register</c> puts files) and the
/// folders of <c>Datasets:Roots</c> (';'-separated). A root that holds or lies in this home's keys, database or job
/// folders, or a system folder, is refused at start. s3:// datasets only in the S3 artifact store's bucket
/// (<c>Artifacts:S3:Bucket</c>): a URI naming any other bucket would let a caller probe objects the agents can reach. The
/// agents read the same settings and check again before reading.</summary>
public sealed record DataLocations(IReadOnlyList<string> Roots, string? S3Bucket = null)
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
        return new DataLocations(roots, config["Artifacts:S3:Bucket"] is { Length: > 0 } bucket ? bucket : null);
    }

    public string? Problem(string? uri) => DataUris.Problem(uri, Roots) ?? (uri!.StartsWith("s3:", StringComparison.OrdinalIgnoreCase)
        ? S3Bucket is null ? "s3:// datasets need the S3 artifact store (Artifacts:S3:Bucket); none is configured"
        : DataUris.S3Object(uri).Bucket != S3Bucket ? $"only the artifact store's bucket '{S3Bucket}' is read"
        : null
        : null);
}
