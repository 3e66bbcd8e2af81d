using System.Security.Cryptography;
using EventMlOps.Contracts.Artifacts;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Artifacts;

/// <summary>Content-addressed artifacts: stored under their sha256, and verified on every read — a mismatch
/// is an <see cref="ArtifactIntegrityException"/>, never a silent load.</summary>
public interface IArtifactStore
{
    /// <summary>Stores a local file under its sha256 (a no-op when that content is already there).</summary>
    Task<ArtifactRef> PutAsync(string path, CancellationToken ct);

    /// <summary>A local, verified copy of the artifact: <c>file://</c> URIs are checked in place, remote ones
    /// are downloaded into the cache folder first.</summary>
    Task<string> LocalizeAsync(string uri, string sha256, CancellationToken ct);
}

/// <summary>The content does not match its recorded digest. The message names the expected digest only: the actual one
/// would tell the reader something about content it may not read.</summary>
public sealed class ArtifactIntegrityException(string uri, string expected)
    : Exception($"artifact {(uri.Length > 120 ? uri[..120] + "…" : uri)} does not match its recorded sha256 {expected[..Math.Min(12, expected.Length)]}…: refusing to use it");

public static class ArtifactStore
{
    /// <summary><c>Artifacts:S3:Bucket</c> (with optional <c>ServiceUrl</c>, <c>Prefix</c>; credentials from the AWS
    /// environment) selects S3; otherwise a local folder, <c>Artifacts:Root</c> or <c>$EMO_HOME/artifacts</c>.</summary>
    public static IArtifactStore FromConfiguration(IConfiguration configuration, string emoHome)
    {
        var cache = Path.Combine(emoHome, "cache", "artifacts");
        if (configuration["Artifacts:S3:Bucket"] is { Length: > 0 } bucket)
            return S3ArtifactStore.Create(bucket, configuration["Artifacts:S3:Prefix"] ?? "eventmlops", configuration["Artifacts:S3:ServiceUrl"], cache);
        return new LocalArtifactStore(configuration["Artifacts:Root"] ?? Path.Combine(emoHome, "artifacts"));
    }

    public static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
    }

    /// <summary>Checks a local file against the sha256 it is known by.</summary>
    public static async Task VerifyAsync(string uri, string path, string sha256, CancellationToken ct)
    {
        var actual = await Sha256Async(path, ct);
        if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
            throw new ArtifactIntegrityException(uri, sha256);
    }

    /// <summary>The path of a <c>file://</c> URI, verified; null for other schemes. Only a regular file is read (a
    /// device never ends, a FIFO blocks the reader), and the hash stops with <paramref name="ct"/>.</summary>
    internal static async Task<string?> LocalFileAsync(string uri, string sha256, CancellationToken ct)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || !parsed.IsFile) return null;
        if (!File.Exists(parsed.LocalPath)) throw new FileNotFoundException($"artifact {Shown(uri)} does not exist", parsed.LocalPath);
        if (await FileTypeAsync(parsed.LocalPath, ct) is not ("regular file" or "regular empty file"))
            throw new NotSupportedException($"{Shown(uri)} is not a regular file");
        await VerifyAsync(uri, parsed.LocalPath, sha256, ct);
        return parsed.LocalPath;
    }

    internal static string Shown(string uri) => uri.Length > 120 ? uri[..120] + "…" : uri;

    /// <summary>The type of the file a path finally names (<c>stat -L</c>): .NET does not tell a FIFO or a device from a file.</summary>
    private static Task<string> FileTypeAsync(string path, CancellationToken ct) => CoreutilsAsync("stat", ["-L", "--format=%F", "--", path], ct);

    /// <summary>The path with every symbolic link resolved, intermediate folders included (<c>realpath -e</c>): where a
    /// read really goes.</summary>
    public static Task<string> RealPathAsync(string path, CancellationToken ct) => CoreutilsAsync("realpath", ["-e", "--", path], ct);

    private static async Task<string> CoreutilsAsync(string tool, string[] args, CancellationToken ct)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(tool, args)
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        }) ?? throw new InvalidOperationException($"{tool} could not be started");
        var output = await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return process.ExitCode == 0 ? output.Trim() : "unknown";
    }

    internal static string Key(string sha256) => $"sha256/{sha256[..2]}/{sha256}";
}

/// <summary>A folder laid out as <c>sha256/ab/abcd…</c>; writes go through a temporary file and a rename.</summary>
public sealed class LocalArtifactStore(string root) : IArtifactStore
{
    public string Root { get; } = Path.GetFullPath(root);

    public async Task<ArtifactRef> PutAsync(string path, CancellationToken ct)
    {
        var sha = await ArtifactStore.Sha256Async(path, ct);
        var target = Path.Combine(Root, ArtifactStore.Key(sha));
        if (!File.Exists(target))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var temp = $"{target}.{Guid.NewGuid():N}.tmp";
            File.Copy(path, temp);
            File.Move(temp, target, overwrite: true);
        }
        return new ArtifactRef(new Uri(target).AbsoluteUri, sha, new FileInfo(target).Length);
    }

    public async Task<string> LocalizeAsync(string uri, string sha256, CancellationToken ct) =>
        await ArtifactStore.LocalFileAsync(uri, sha256, ct)
        ?? throw new NotSupportedException($"the local artifact store cannot read {uri}; configure Artifacts:S3 for s3:// artifacts");
}
