using Amazon.S3;
using Amazon.S3.Model;
using EventMlOps.Contracts.Artifacts;

namespace EventMlOps.Artifacts;

/// <summary>An S3-compatible bucket (AWS, MinIO, Ceph…): objects keyed <c>{prefix}/sha256/ab/abcd…</c>, downloads
/// verified into a local cache. Credentials and region come from the usual AWS environment variables/profile.</summary>
public sealed class S3ArtifactStore(IAmazonS3 s3, string bucket, string prefix, string cacheRoot, DataRoots roots) : IArtifactStore
{
    public static S3ArtifactStore Create(string bucket, string prefix, string? serviceUrl, string cacheRoot, DataRoots roots)
    {
        var config = new AmazonS3Config();
        if (serviceUrl is not null)
        {
            config.ServiceURL = serviceUrl;
            config.ForcePathStyle = true; // MinIO and most self-hosted S3s
        }
        return new S3ArtifactStore(new AmazonS3Client(config), bucket, prefix.Trim('/'), cacheRoot, roots);
    }

    public async Task<ArtifactRef> PutAsync(string path, CancellationToken ct)
    {
        var (content, sha) = await ArtifactStore.OpenToStoreAsync(path, ct);
        await using (content)
        {
            var key = $"{prefix}/{ArtifactStore.Key(sha)}";
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = content, AutoCloseStream = false }, ct);
            return new ArtifactRef($"s3://{bucket}/{key}", sha, content.Length);
        }
    }

    /// <summary>This store's object for the sha256 is checked to exist and verified (downloaded); a local job's file is
    /// copied, verified, and uploaded.</summary>
    public async Task<ArtifactRef> AdoptAsync(string uri, string sha256, string? jobFolder, CancellationToken ct)
    {
        DataFiles.RequireSha256(uri, sha256);
        var key = $"{prefix}/{ArtifactStore.Key(sha256.ToLowerInvariant())}";
        if (uri == $"s3://{bucket}/{key}")
        {
            // The object itself, not a cached copy of that content: the recorded URI must lead to it.
            await s3.GetObjectMetadataAsync(bucket, key, ct);
            return new ArtifactRef(uri, sha256.ToLowerInvariant(), new FileInfo(await LocalizeAsync(uri, sha256, ct)).Length);
        }
        var temp = Path.Combine(cacheRoot, "incoming", $"{Guid.NewGuid():N}.tmp");
        await ArtifactStore.CopyJobFileAsync(uri, sha256, jobFolder, roots, temp, ct);
        try
        {
            return await PutAsync(temp, ct);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public async Task<string> LocalizeAsync(string uri, string sha256, CancellationToken ct)
    {
        if (await ArtifactStore.LocalFileAsync(uri, sha256, roots, ct) is { } local) return local;
        if (!uri.StartsWith("s3:", StringComparison.OrdinalIgnoreCase))
            throw new NotSupportedException($"cannot read {DataUris.Echo(uri)}: only file:// and s3:// artifacts are supported");
        var (objectBucket, key) = DataUris.S3Object(uri);
        var cached = Path.Combine(cacheRoot, ArtifactStore.Key(sha256.ToLowerInvariant()));
        if (File.Exists(cached) && await VerifiedAsync(uri, cached, sha256, ct)) return cached;
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        var temp = $"{cached}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(roots.ReadTimeout);
                using var response = await s3.GetObjectAsync(objectBucket, key, timeout.Token);
                if (response.ContentLength > roots.MaxBytes) throw new DataAccessRefused(uri, $"it is larger than {roots.MaxBytes} bytes");
                await response.WriteResponseStreamToFileAsync(temp, append: false, timeout.Token);
            }
            if (!await VerifiedAsync(uri, temp, sha256, ct)) throw new ArtifactIntegrityException(uri, sha256);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        File.Move(temp, cached, overwrite: true);
        return cached;
    }

    /// <summary>A file of this store's own cache against its sha256, within the limits of a read.</summary>
    private async Task<bool> VerifiedAsync(string uri, string path, string sha256, CancellationToken ct)
    {
        using var handle = File.OpenHandle(path);
        try { await DataFiles.VerifyAsync(uri, handle, sha256, roots, ct); }
        catch (ArtifactIntegrityException) { return false; }
        return true;
    }
}
