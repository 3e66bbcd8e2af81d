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

    /// <summary>A local, verified copy of the artifact or dataset: <c>file://</c> URIs are checked in place (only under
    /// the store's <see cref="DataRoots"/>; the real path is returned), remote ones are downloaded into the cache folder
    /// first.</summary>
    /// <exception cref="DataAccessRefused">The URI, or the file it leads to, may not be read.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="ArtifactIntegrityException">The content does not match <paramref name="sha256"/>.</exception>
    Task<string> LocalizeAsync(string uri, string sha256, CancellationToken ct);

    /// <summary>Makes an output a job reports (<c>uri</c> + <c>sha256</c>) part of the store, accepted only if its content
    /// has the claimed sha256: a regular file in the job's own folder on this machine (<paramref name="jobFolder"/>, where a
    /// local job publishes), copied in from the very file checked, or — for a store jobs write themselves (S3) — the
    /// store's own object for that sha256.</summary>
    /// <exception cref="DataAccessRefused">The URI is not in the job's folder (nor, with S3, the store's object for that sha256).</exception>
    /// <exception cref="ArtifactIntegrityException">The content does not match <paramref name="sha256"/>.</exception>
    Task<ArtifactRef> AdoptAsync(string uri, string sha256, string? jobFolder, CancellationToken ct);
}

/// <summary>The content does not match its recorded sha256. The actual digest is never told: it would make any
/// readable file's hash an oracle.</summary>
public sealed class ArtifactIntegrityException(string uri, string expected)
    : Exception($"artifact {DataUris.Echo(uri)} does not match the recorded sha256 {expected[..Math.Min(12, expected.Length)]}…: refusing to use it");

public static class ArtifactStore
{
    /// <summary><c>Artifacts:S3:Bucket</c> (with optional <c>ServiceUrl</c>, <c>Prefix</c>; credentials from the
    /// configuration's <c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>, else the AWS SDK's usual chain) selects S3; otherwise a local folder, <c>Artifacts:Root</c> or <c>$EMO_HOME/artifacts</c>. Local
    /// reads are confined to <see cref="DataRoots.FromConfiguration"/> (with <paramref name="protectedPaths"/>).</summary>
    /// <exception cref="InvalidOperationException">A data root is unacceptable.</exception>
    public static IArtifactStore FromConfiguration(IConfiguration configuration, string emoHome, IEnumerable<string>? protectedPaths = null)
    {
        var roots = DataRoots.FromConfiguration(configuration, emoHome, protectedPaths);
        var cache = Path.Combine(emoHome, "cache", "artifacts");
        if (configuration["Artifacts:S3:Bucket"] is { Length: > 0 } bucket)
            return S3ArtifactStore.Create(bucket, configuration["Artifacts:S3:Prefix"] ?? "eventmlops", configuration["Artifacts:S3:ServiceUrl"], cache, roots,
                S3ArtifactStore.Credentials(configuration));
        return new LocalArtifactStore(roots);
    }

    /// <summary>What a job is given to read its dataset and publish its outputs itself: the same S3 bucket (with the
    /// AWS credentials of this process as secrets), or, with a local store, a store of its own in its working folder
    /// (<c>store/</c>, which the agent adopts from: a job never writes the shared folder) and the data roots to read.</summary>
    /// <param name="onThisMachine">The job runs on this machine: the data roots are its to read too (a pod elsewhere has
    /// none of them).</param>
    public static (Dictionary<string, string> Environment, Dictionary<string, string> Secrets) ForJob(IConfiguration configuration, string emoHome,
        bool onThisMachine = true)
    {
        var roots = DataRoots.FromConfiguration(configuration, emoHome);
        var environment = new Dictionary<string, string>
        {
            ["Datasets__MaxBytes"] = roots.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Datasets__ReadTimeoutSeconds"] = ((long)roots.ReadTimeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (onThisMachine) environment["Datasets__Roots"] = string.Join(';', roots.Roots);
        var secrets = new Dictionary<string, string>();
        if (configuration["Artifacts:S3:Bucket"] is { Length: > 0 } bucket)
        {
            environment["Artifacts__S3__Bucket"] = bucket;
            foreach (var key in (string[])["Prefix", "ServiceUrl"])
                if (configuration[$"Artifacts:S3:{key}"] is { Length: > 0 } value) environment[$"Artifacts__S3__{key}"] = value;
            // From configuration: the environment, or files a Vault agent rendered (EMO_CONFIG_FILES).
            foreach (var key in (string[])["AWS_REGION", "AWS_DEFAULT_REGION"])
                if (configuration[key] is { Length: > 0 } value) environment[key] = value;
            foreach (var key in (string[])["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"])
                if (configuration[key] is { Length: > 0 } value) secrets[key] = value;
        }
        else
        {
            environment["Artifacts__Root"] = JobStore;
        }
        return (environment, secrets);
    }

    /// <summary>A local job's own store, relative to its working folder.</summary>
    public const string JobStore = "store";

    public static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        var (content, sha) = await OpenToStoreAsync(path, ct);
        await content.DisposeAsync();
        return sha;
    }

    /// <summary>A file to store, hashed and rewound. Only a regular file, never through a final link: job outputs are
    /// written by the job's (unprivileged) user and read by the agent, which may be root.</summary>
    internal static async Task<(FileStream Content, string Sha256)> OpenToStoreAsync(string path, CancellationToken ct)
    {
        var handle = UnixFiles.OpenRegular(Path.GetFullPath(path))
            ?? throw new IOException($"{DataUris.Echo(path)} is not a regular file (or a link to one); refusing to store it");
        var content = new FileStream(handle, FileAccess.Read);
        try
        {
            var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(content, ct));
            content.Position = 0;
            return (content, sha);
        }
        catch
        {
            await content.DisposeAsync();
            throw;
        }
    }

    /// <summary>The verified real path of a <c>file://</c> URI; null for the other acceptable schemes.</summary>
    internal static async Task<string?> LocalFileAsync(string uri, string sha256, DataRoots roots, CancellationToken ct)
    {
        DataFiles.RequireSha256(uri, sha256);
        if (DataUris.Problem(uri, roots.Roots) is { } problem) throw new DataAccessRefused(uri, problem);
        return uri.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? await DataFiles.VerifiedFileAsync(uri, sha256, roots, ct) : null;
    }

    internal static string Key(string sha256) => $"sha256/{sha256[..2]}/{sha256}";

    /// <summary>A job's file copied, verified, into a new temporary file at <paramref name="temp"/> (the caller moves or
    /// uploads it): read from the handle that was checked to be a regular file inside <paramref name="jobFolder"/>.</summary>
    /// <exception cref="DataAccessRefused">The URI is not a file of the job's folder.</exception>
    internal static async Task CopyJobFileAsync(string uri, string sha256, string? jobFolder, DataRoots limits, string temp, CancellationToken ct)
    {
        if (jobFolder is null || !uri.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            throw new DataAccessRefused(uri, "it is not a file of the job's own folder");
        DataFiles.RequireSha256(uri, sha256);
        var from = new DataRoots(jobFolder, maxBytes: limits.MaxBytes, readTimeout: limits.ReadTimeout);
        // A claim that cannot name a file of the folder is refused before anything is created.
        if (DataUris.Problem(uri, from.Roots) is { } problem) throw new DataAccessRefused(uri, problem);
        Directory.CreateDirectory(Path.GetDirectoryName(temp)!);
        try
        {
            await using var copy = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
            await DataFiles.CopyVerifiedAsync(uri, sha256, from, copy, ct);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}

/// <summary>A folder laid out as <c>sha256/ab/abcd…</c>; writes go through a temporary file and a rename.</summary>
public sealed class LocalArtifactStore(DataRoots roots) : IArtifactStore
{
    /// <summary>A store at <paramref name="root"/> that reads local data from that folder only.</summary>
    public LocalArtifactStore(string root) : this(new DataRoots(root)) { }

    public string Root => roots.ArtifactRoot;

    public async Task<ArtifactRef> PutAsync(string path, CancellationToken ct)
    {
        var (content, sha) = await ArtifactStore.OpenToStoreAsync(path, ct);
        var target = Path.Combine(Root, ArtifactStore.Key(sha));
        await using (content)
            if (!File.Exists(target))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                var temp = $"{target}.{Guid.NewGuid():N}.tmp";
                await using (var copy = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                    await content.CopyToAsync(copy, ct);
                File.Move(temp, target, overwrite: true);
            }
        return new ArtifactRef(new Uri(target).AbsoluteUri, sha, new FileInfo(target).Length);
    }

    public async Task<string> LocalizeAsync(string uri, string sha256, CancellationToken ct) =>
        await ArtifactStore.LocalFileAsync(uri, sha256, roots, ct)
        ?? throw new NotSupportedException($"the local artifact store cannot read {DataUris.Echo(uri)}; configure Artifacts:S3 for s3:// artifacts");

    public async Task<ArtifactRef> AdoptAsync(string uri, string sha256, string? jobFolder, CancellationToken ct)
    {
        DataFiles.RequireSha256(uri, sha256); // before it names a path
        // Only the job's own files: no job writes this folder, so a claim on one of its objects (readable to jobs) would be
        // another run's output passed off as this one's.
        var target = Path.Combine(Root, ArtifactStore.Key(sha256.ToLowerInvariant()));
        var temp = $"{target}.{Guid.NewGuid():N}.tmp";
        await ArtifactStore.CopyJobFileAsync(uri, sha256, jobFolder, roots, temp, ct);
        File.Move(temp, target, overwrite: true); // the same content if it was there: content addressing
        return new ArtifactRef(new Uri(target).AbsoluteUri, sha256.ToLowerInvariant(), new FileInfo(target).Length);
    }
}
