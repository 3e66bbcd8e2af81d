using Amazon.S3;
using Amazon.S3.Model;
using EventMlOps.Contracts.Artifacts;

namespace EventMlOps.Artifacts;

/// <summary>An S3-compatible bucket (AWS, MinIO, Ceph…): objects keyed <c>{prefix}/sha256/ab/abcd…</c>, downloads
/// verified into a local cache. Credentials and region come from the usual AWS environment variables/profile.</summary>
public sealed class S3ArtifactStore(IAmazonS3 s3, string bucket, string prefix, string cacheRoot) : IArtifactStore
{
    public static S3ArtifactStore Create(string bucket, string prefix, string? serviceUrl, string cacheRoot)
    {
        var config = new AmazonS3Config();
        if (serviceUrl is not null)
        {
            config.ServiceURL = serviceUrl;
            config.ForcePathStyle = true; // MinIO and most self-hosted S3s
        }
        return new S3ArtifactStore(new AmazonS3Client(config), bucket, prefix.Trim('/'), cacheRoot);
    }

    public async Task<ArtifactRef> PutAsync(string path, CancellationToken ct)
    {
        var sha = await ArtifactStore.Sha256Async(path, ct);
        var key = $"{prefix}/{ArtifactStore.Key(sha)}";
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, FilePath = path }, ct);
        return new ArtifactRef($"s3://{bucket}/{key}", sha, new FileInfo(path).Length);
    }

    public async Task<string> LocalizeAsync(string uri, string sha256, CancellationToken ct)
    {
        if (await ArtifactStore.LocalFileAsync(uri, sha256, ct) is { } local) return local;
        var parsed = new Uri(uri);
        if (parsed.Scheme != "s3") throw new NotSupportedException($"cannot read {uri}: only file:// and s3:// artifacts are supported");
        var cached = Path.Combine(cacheRoot, ArtifactStore.Key(sha256));
        if (File.Exists(cached) && await ArtifactStore.Sha256Async(cached, ct) == sha256) return cached;
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        var temp = $"{cached}.{Guid.NewGuid():N}.tmp";
        using (var response = await s3.GetObjectAsync(parsed.Host, parsed.AbsolutePath.TrimStart('/'), ct))
            await response.WriteResponseStreamToFileAsync(temp, append: false, ct);
        try
        {
            await ArtifactStore.VerifyAsync(uri, temp, sha256, ct);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        File.Move(temp, cached, overwrite: true);
        return cached;
    }
}
