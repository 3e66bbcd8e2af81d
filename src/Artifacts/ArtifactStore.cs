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

    /// <summary>Makes an output a job reports (<c>uri</c> + <c>sha256</c>) part of the store: read from the store itself,
    /// or from one of its incoming folders (where local jobs write), and copied in when it is not there yet — accepted only
    /// if the content stored has the claimed sha256, so a job can claim nothing but what it produced.</summary>
    /// <exception cref="DataAccessRefused">The URI is neither in the store nor in an incoming folder.</exception>
    /// <exception cref="ArtifactIntegrityException">The content does not match <paramref name="sha256"/>.</exception>
    Task<ArtifactRef> AdoptAsync(string uri, string sha256, CancellationToken ct);
}

/// <summary>The content does not match its recorded sha256. The actual digest is never told: it would make any
/// readable file's hash an oracle.</summary>
public sealed class ArtifactIntegrityException(string uri, string expected)
    : Exception($"artifact {DataUris.Echo(uri)} does not match the recorded sha256 {expected[..Math.Min(12, expected.Length)]}…: refusing to use it");

public static class ArtifactStore
{
    /// <summary><c>Artifacts:S3:Bucket</c> (with optional <c>ServiceUrl</c>, <c>Prefix</c>; credentials from the AWS
    /// environment) selects S3; otherwise a local folder, <c>Artifacts:Root</c> or <c>$EMO_HOME/artifacts</c>. Local
    /// reads are confined to <see cref="DataRoots.FromConfiguration"/> (with <paramref name="protectedPaths"/>).</summary>
    /// <exception cref="InvalidOperationException">A data root is unacceptable.</exception>
    /// <param name="incoming">Where local jobs write the outputs <see cref="IArtifactStore.AdoptAsync"/> takes in.</param>
    public static IArtifactStore FromConfiguration(IConfiguration configuration, string emoHome, IEnumerable<string>? protectedPaths = null,
        string? incoming = null)
    {
        var roots = DataRoots.FromConfiguration(configuration, emoHome, protectedPaths);
        var from = incoming is null ? null : new DataRoots(incoming, maxBytes: roots.MaxBytes, readTimeout: roots.ReadTimeout);
        var cache = Path.Combine(emoHome, "cache", "artifacts");
        if (configuration["Artifacts:S3:Bucket"] is { Length: > 0 } bucket)
            return S3ArtifactStore.Create(bucket, configuration["Artifacts:S3:Prefix"] ?? "eventmlops", configuration["Artifacts:S3:ServiceUrl"], cache, roots, from);
        return new LocalArtifactStore(roots, from);
    }

    /// <summary>What a job is given to read its dataset and publish its outputs itself: the same S3 bucket (with the
    /// AWS credentials of this process as secrets), or, with a local store, a store of its own in its working folder
    /// (<c>store/</c>, which the agent adopts from: a job never writes the shared folder) and the data roots to read.</summary>
    public static (Dictionary<string, string> Environment, Dictionary<string, string> Secrets) ForJob(IConfiguration configuration, string emoHome)
    {
        var roots = DataRoots.FromConfiguration(configuration, emoHome);
        var environment = new Dictionary<string, string>
        {
            ["Datasets__Roots"] = string.Join(';', roots.Roots),
            ["Datasets__MaxBytes"] = roots.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Datasets__ReadTimeoutSeconds"] = ((long)roots.ReadTimeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var secrets = new Dictionary<string, string>();
        if (configuration["Artifacts:S3:Bucket"] is { Length: > 0 } bucket)
        {
            environment["Artifacts__S3__Bucket"] = bucket;
            foreach (var key in (string[])["Prefix", "ServiceUrl"])
                if (configuration[$"Artifacts:S3:{key}"] is { Length: > 0 } value) environment[$"Artifacts__S3__{key}"] = value;
            foreach (var key in (string[])["AWS_REGION", "AWS_DEFAULT_REGION"])
                if (Environment.GetEnvironmentVariable(key) is { Length: > 0 } value) environment[key] = value;
            foreach (var key in (string[])["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"])
                if (Environment.GetEnvironmentVariable(key) is { Length: > 0 } value) secrets[key] = value;
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

    /// <summary>Where an adopted URI is read from: an incoming folder when it lies in one, else the store's own roots.</summary>
    internal static DataRoots Source(string uri, DataRoots roots, DataRoots? incoming) =>
        incoming is not null && DataUris.Problem(uri, incoming.Roots) is null ? incoming : roots;

    /// <summary>What was stored, if it is what was claimed (the file may have changed since it was verified).</summary>
    internal static ArtifactRef Matching(ArtifactRef stored, string uri, string sha256) =>
        string.Equals(stored.Sha256, sha256, StringComparison.OrdinalIgnoreCase) ? stored : throw new ArtifactIntegrityException(uri, sha256);
}

/// <summary>A folder laid out as <c>sha256/ab/abcd…</c>; writes go through a temporary file and a rename.</summary>
public sealed class LocalArtifactStore(DataRoots roots, DataRoots? incoming = null) : IArtifactStore
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

    public async Task<ArtifactRef> AdoptAsync(string uri, string sha256, CancellationToken ct)
    {
        var path = await ArtifactStore.LocalFileAsync(uri, sha256, ArtifactStore.Source(uri, roots, incoming), ct)
            ?? throw new DataAccessRefused(uri, "a local artifact store adopts only local files");
        return ArtifactStore.Matching(await PutAsync(path, ct), uri, sha256);
    }
}
