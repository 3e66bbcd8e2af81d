using System.Security.Cryptography;
using System.Text;
using Amazon.S3.Model;
using EventMlOps.Artifacts.Tests.Testing;
using EventMlOps.Contracts.Artifacts;

namespace EventMlOps.Artifacts.Tests;

/// <summary>The S3 store against a real S3-compatible server (s3rver), each test under a prefix of its own.</summary>
public class S3ArtifactStoreTests(S3rver s3rver) : IClassFixture<S3rver>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _dir = Directory.CreateTempSubdirectory("emo-s3-").FullName;
    private readonly string _prefix = $"tests/{Guid.NewGuid():N}";

    private string Cache => Path.Combine(_dir, "cache");

    private S3ArtifactStore Store(string accessKey = S3rver.AccessKey) =>
        new(s3rver.Client(accessKey), S3rver.Bucket, _prefix, Cache, new DataRoots(Path.Combine(_dir, "artifacts")));

    private string File(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private static string Sha256(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    private string UriOf(string sha256) => $"s3://{S3rver.Bucket}/{_prefix}/sha256/{sha256[..2]}/{sha256}";

    private async Task<string> ObjectTextAsync(string key)
    {
        using var response = await s3rver.Client().GetObjectAsync(S3rver.Bucket, key, Ct);
        using var reader = new StreamReader(response.ResponseStream);
        return await reader.ReadToEndAsync(Ct);
    }

    [Fact]
    public async Task Given_a_file_When_put_and_localized_Then_the_object_holds_its_bytes_under_its_sha256_and_reads_back_verified()
    {
        var store = Store();

        var stored = await store.PutAsync(File("model.onnx", "weights"), Ct);

        stored.ShouldBe(new ArtifactRef(UriOf(Sha256("weights")), Sha256("weights"), 7));
        (await ObjectTextAsync($"{_prefix}/sha256/{stored.Sha256[..2]}/{stored.Sha256}")).ShouldBe("weights",
            "the object holds the file's bytes, not a chunk-encoded body");
        var local = await store.LocalizeAsync(stored.Uri, stored.Sha256, Ct);
        local.ShouldStartWith(Cache + "/");
        (await System.IO.File.ReadAllTextAsync(local, Ct)).ShouldBe("weights");
        (await Store().LocalizeAsync(stored.Uri, stored.Sha256.ToUpperInvariant(), Ct)).ShouldBe(local, "the verified cached copy");
    }

    [Fact]
    public async Task Given_the_stores_own_object_When_a_job_claims_it_Then_it_is_adopted_and_a_claim_on_an_absent_one_is_not_found()
    {
        var store = Store();
        var stored = await store.PutAsync(File("model.onnx", "weights"), Ct);

        (await Store().AdoptAsync(stored.Uri, stored.Sha256, jobFolder: null, Ct)).ShouldBe(stored);

        var absent = Sha256("never stored");
        var error = await Should.ThrowAsync<FileNotFoundException>(() => Store().AdoptAsync(UriOf(absent), absent, null, Ct));
        error.Message.ShouldBe($"{DataUris.Echo(UriOf(absent))} does not exist");
        // Another key of the bucket is not the store's object for that sha256.
        await Should.ThrowAsync<DataAccessRefused>(() => Store().AdoptAsync($"s3://{S3rver.Bucket}/elsewhere/model.onnx", stored.Sha256, null, Ct));
    }

    [Fact]
    public async Task Given_an_object_whose_bytes_do_not_hash_to_its_sha256_When_localized_or_adopted_Then_it_is_refused_and_nothing_is_cached()
    {
        var sha = Sha256("weights");
        await s3rver.Client().PutObjectAsync(new PutObjectRequest
        {
            BucketName = S3rver.Bucket, Key = $"{_prefix}/sha256/{sha[..2]}/{sha}", ContentBody = "tampered",
        }, Ct);

        var error = await Should.ThrowAsync<ArtifactIntegrityException>(() => Store().LocalizeAsync(UriOf(sha), sha, Ct));
        await Should.ThrowAsync<ArtifactIntegrityException>(() => Store().AdoptAsync(UriOf(sha), sha, null, Ct));

        error.Message.ShouldContain($"does not match the recorded sha256 {sha[..12]}…");
        error.Message.ShouldNotContain(Sha256("tampered"));
        (Directory.Exists(Cache) ? Directory.EnumerateFiles(Cache, "*", SearchOption.AllDirectories) : []).ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_no_object_When_localized_Then_the_error_is_a_short_not_found_naming_the_uri()
    {
        var sha = Sha256("never stored");

        var error = await Should.ThrowAsync<FileNotFoundException>(() => Store().LocalizeAsync(UriOf(sha), sha, Ct));
        var noBucket = await Should.ThrowAsync<FileNotFoundException>(() => Store().LocalizeAsync($"s3://no-such-bucket/{sha}", sha, Ct));

        error.Message.ShouldBe($"{DataUris.Echo(UriOf(sha))} does not exist");
        noBucket.Message.ShouldBe($"{DataUris.Echo($"s3://no-such-bucket/{sha}")} does not exist");
        (Directory.Exists(Cache) ? Directory.EnumerateFiles(Cache, "*", SearchOption.AllDirectories) : []).ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_an_unknown_access_key_When_the_store_is_used_Then_the_server_refuses_it_and_the_error_says_so()
    {
        // s3rver knows one access key (S3RVER) and refuses any other; it does not check SigV4 signatures, so a wrong
        // secret with the right key is accepted by it (AWS, MinIO and Ceph refuse that too: SignatureDoesNotMatch).
        var stored = await Store().PutAsync(File("model.onnx", "weights"), Ct);
        var intruder = Store(accessKey: "INTRUDER");

        var put = await Should.ThrowAsync<IOException>(() => intruder.PutAsync(File("other.onnx", "other"), Ct));
        var read = await Should.ThrowAsync<DataAccessRefused>(() => intruder.LocalizeAsync(stored.Uri, stored.Sha256, Ct));
        var adopt = await Should.ThrowAsync<DataAccessRefused>(() => intruder.AdoptAsync(stored.Uri, stored.Sha256, null, Ct));

        put.Message.ShouldBe($"the S3 server refused to store {DataUris.Echo(Path.Combine(_dir, "other.onnx"))}: it refused this process's credentials (InvalidAccessKeyId)");
        read.Reason.ShouldBe("the S3 server refused this process's credentials (InvalidAccessKeyId)");
        adopt.Reason.ShouldBe("the S3 server refused this process's credentials (Forbidden)", "a HEAD's refusal has no body to name its code");
    }
}
