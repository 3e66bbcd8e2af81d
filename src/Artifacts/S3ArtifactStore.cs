using Amazon.Runtime;
using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using EventMlOps.Contracts.Artifacts;

namespace EventMlOps.Artifacts;

/// <summary>An S3-compatible bucket (AWS, MinIO, Ceph…): objects keyed <c>{prefix}/sha256/ab/abcd…</c>, downloads
/// verified into a local cache. Credentials and region come from the usual AWS environment variables/profile.
/// The server's refusals are the store's exceptions: no such object or bucket is a <see cref="FileNotFoundException"/>,
/// refused credentials a <see cref="DataAccessRefused"/> (an <see cref="IOException"/> when storing).</summary>
public sealed class S3ArtifactStore(IAmazonS3 s3, string bucket, string prefix, string cacheRoot, DataRoots roots) : IArtifactStore
{
    private readonly string _prefix = prefix.Trim('/');

    public static S3ArtifactStore Create(string bucket, string prefix, string? serviceUrl, string cacheRoot, DataRoots roots, AWSCredentials? credentials = null) =>
        new(credentials is null ? new AmazonS3Client(Config(serviceUrl)) : new AmazonS3Client(credentials, Config(serviceUrl)), bucket, prefix, cacheRoot, roots);

    /// <summary>Credentials named in configuration (the environment, or files rendered by a Vault agent); null: the AWS SDK's
    /// own chain (environment, profile, instance role).</summary>
    public static AWSCredentials? Credentials(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        configuration["AWS_ACCESS_KEY_ID"] is { Length: > 0 } id && configuration["AWS_SECRET_ACCESS_KEY"] is { Length: > 0 } secret
            ? configuration["AWS_SESSION_TOKEN"] is { Length: > 0 } session ? new SessionAWSCredentials(id, secret, session) : new BasicAWSCredentials(id, secret)
            : null;

    /// <summary>The client settings for AWS itself (<paramref name="serviceUrl"/> null) or a self-hosted server.</summary>
    public static AmazonS3Config Config(string? serviceUrl)
    {
        var config = new AmazonS3Config();
        if (serviceUrl is not null)
        {
            config.ServiceURL = serviceUrl;
            config.ForcePathStyle = true; // MinIO and most self-hosted S3s
        }
        return config;
    }

    public async Task<ArtifactRef> PutAsync(string path, CancellationToken ct)
    {
        var (content, sha) = await ArtifactStore.OpenToStoreAsync(path, ct);
        await using (content)
        {
            var key = ObjectKey(sha);
            try
            {
                // The plain body, signed whole: aws-chunked (the SDK's default over plain HTTP) is not decoded by every
                // S3-compatible server, and one that does not stores the chunk framing as the object.
                await s3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = bucket, Key = key, InputStream = content, AutoCloseStream = false, UseChunkEncoding = false,
                }, ct);
            }
            catch (AmazonS3Exception e) when (Refusal(e) is { } reason)
            {
                throw new IOException($"the S3 server refused to store {DataUris.Echo(path)}: it refused {reason}", e);
            }
            return new ArtifactRef($"s3://{bucket}/{key}", sha, content.Length);
        }
    }

    /// <summary>This store's object for the sha256 is checked to exist and verified (downloaded); a local job's file is
    /// copied, verified, and uploaded.</summary>
    public async Task<ArtifactRef> AdoptAsync(string uri, string sha256, string? jobFolder, CancellationToken ct)
    {
        DataFiles.RequireSha256(uri, sha256);
        var key = ObjectKey(sha256.ToLowerInvariant());
        if (uri == $"s3://{bucket}/{key}")
        {
            // The object itself, not a cached copy of that content: the recorded URI must lead to it.
            try
            {
                await s3.GetObjectMetadataAsync(bucket, key, ct);
            }
            catch (AmazonS3Exception e) when (ReadProblem(uri, e) is { } problem)
            {
                throw problem;
            }
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
        var cached = Path.Combine(cacheRoot, ArtifactStore.Key(sha256.ToLowerInvariant()));
        if (File.Exists(cached) && await VerifiedAsync(uri, cached, sha256, ct)) return cached;
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        var temp = $"{cached}.{Guid.NewGuid():N}.tmp";
        try
        {
            await DownloadAsync(uri, temp, ct);
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

    private string ObjectKey(string sha256) => _prefix.Length == 0 ? ArtifactStore.Key(sha256) : $"{_prefix}/{ArtifactStore.Key(sha256)}";

    /// <summary>The object of an <c>s3://</c> URI into <paramref name="temp"/>, within the limits of a read.</summary>
    private async Task DownloadAsync(string uri, string temp, CancellationToken ct)
    {
        var (objectBucket, key) = DataUris.S3Object(uri);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(roots.ReadTimeout);
        try
        {
            using var response = await s3.GetObjectAsync(objectBucket, key, timeout.Token);
            if (response.ContentLength > roots.MaxBytes) throw new DataAccessRefused(uri, $"it is larger than {roots.MaxBytes} bytes");
            await response.WriteResponseStreamToFileAsync(temp, append: false, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DataAccessRefused(uri, $"it was not read within {roots.ReadTimeout.TotalSeconds:0} s (Datasets:ReadTimeoutSeconds)");
        }
        catch (AmazonS3Exception e) when (ReadProblem(uri, e) is { } problem)
        {
            throw problem;
        }
    }

    /// <summary>What the callers of a read handle — not the SDK's exception, whose text is the server's.</summary>
    private static Exception? ReadProblem(string uri, AmazonS3Exception e) =>
        e.StatusCode == HttpStatusCode.NotFound ? new FileNotFoundException($"{DataUris.Echo(uri)} does not exist", e)
        : Refusal(e) is { } reason ? new DataAccessRefused(uri, $"the S3 server refused {reason}")
        : null;

    private static string? Refusal(AmazonS3Exception e) =>
        e.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized
            ? $"this process's credentials ({(string.IsNullOrEmpty(e.ErrorCode) ? (int)e.StatusCode : e.ErrorCode)})"
            : null;

    /// <summary>A file of this store's own cache against its sha256, within the limits of a read.</summary>
    private async Task<bool> VerifiedAsync(string uri, string path, string sha256, CancellationToken ct)
    {
        using var handle = File.OpenHandle(path);
        try { await DataFiles.VerifyAsync(uri, handle, sha256, roots, ct); }
        catch (ArtifactIntegrityException) { return false; }
        return true;
    }
}
