using EventMlOps.Artifacts;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Artifacts.Tests;

public class LocalArtifactStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _dir = Directory.CreateTempSubdirectory("emo-artifacts-").FullName;

    private string File(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public async Task Given_a_file_When_put_Then_it_is_stored_under_its_sha256_once_and_reads_back_verified()
    {
        var store = new LocalArtifactStore(Path.Combine(_dir, "store"));
        var first = await store.PutAsync(File("model.onnx", "weights"), Ct);
        var again = await store.PutAsync(File("copy.onnx", "weights"), Ct);

        first.Sha256.ShouldBe(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("weights"u8.ToArray())));
        again.ShouldBe(first, "the same content is the same artifact");
        first.Uri.ShouldEndWith($"/sha256/{first.Sha256[..2]}/{first.Sha256}");
        first.Size.ShouldBe(7);
        var local = await store.LocalizeAsync(first.Uri, first.Sha256, Ct);
        (await System.IO.File.ReadAllTextAsync(local, Ct)).ShouldBe("weights");
    }

    [Fact]
    public async Task Given_a_tampered_artifact_When_localized_Then_the_mismatch_is_an_error_naming_the_expected_digest_only()
    {
        var store = new LocalArtifactStore(Path.Combine(_dir, "store"));
        var stored = await store.PutAsync(File("model.onnx", "weights"), Ct);
        var path = new Uri(stored.Uri).LocalPath;
        System.IO.File.WriteAllText(path, "tampered");

        var error = await Should.ThrowAsync<ArtifactIntegrityException>(() => store.LocalizeAsync(stored.Uri, stored.Sha256, Ct));

        error.Message.ShouldContain($"does not match the recorded sha256 {stored.Sha256[..12]}…");
        error.Message.ShouldContain("refusing");
        error.Message.ShouldNotContain(await ArtifactStore.Sha256Async(path, Ct), Case.Insensitive,
            customMessage: "the actual digest would make every readable file's sha256 an oracle");
    }

    [Fact]
    public async Task Given_a_dataset_file_outside_the_store_in_a_data_root_When_localized_Then_it_is_verified_in_place()
    {
        var store = new LocalArtifactStore(new DataRoots(Path.Combine(_dir, "store"), [_dir]));
        var data = File("u.data", "1\t2\t5\t0\n");
        var sha = await ArtifactStore.Sha256Async(data, Ct);

        (await store.LocalizeAsync(new Uri(data).AbsoluteUri, sha, Ct)).ShouldBe(data);
        await Should.ThrowAsync<ArtifactIntegrityException>(() => store.LocalizeAsync(new Uri(data).AbsoluteUri, new string('0', 64), Ct));
        await Should.ThrowAsync<FileNotFoundException>(() => store.LocalizeAsync(new Uri(Path.Combine(_dir, "gone")).AbsoluteUri, sha, Ct));
        await Should.ThrowAsync<NotSupportedException>(() => store.LocalizeAsync("s3://bucket/key", sha, Ct));
    }

    [Fact]
    public void Given_configuration_When_the_store_is_chosen_Then_s3_needs_a_bucket_and_local_is_the_default()
    {
        var local = ArtifactStore.FromConfiguration(new ConfigurationBuilder().Build(), _dir);
        local.ShouldBeOfType<LocalArtifactStore>().Root.ShouldBe(Path.Combine(_dir, "artifacts"));
        Should.Throw<InvalidOperationException>(() => ArtifactStore.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["Datasets:Roots"] = _dir }).Build(), _dir)).Message.ShouldContain("Datasets:Roots");
        var s3 = ArtifactStore.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Artifacts:S3:Bucket"] = "models", ["Artifacts:S3:ServiceUrl"] = "http://127.0.0.1:9000",
        }).Build(), _dir);
        s3.ShouldBeOfType<S3ArtifactStore>();
    }

    [Fact]
    public async Task Given_an_output_a_job_claims_in_its_folder_When_adopted_Then_it_is_copied_into_the_store_only_if_its_bytes_have_the_claimed_sha256()
    {
        var work = Directory.CreateDirectory(Path.Combine(_dir, "jobs", "train-1", "work")).FullName;
        var store = new LocalArtifactStore(Path.Combine(_dir, "store"));
        var output = Path.Combine(Directory.CreateDirectory(Path.Combine(work, "store")).FullName, "model.onnx");
        await System.IO.File.WriteAllTextAsync(output, "weights", Ct);
        var sha = await ArtifactStore.Sha256Async(output, Ct);

        var adopted = await store.AdoptAsync(new Uri(output).AbsoluteUri, sha, work, Ct);

        adopted.Uri.ShouldBe(new Uri(Path.Combine(_dir, "store", "sha256", sha[..2], sha)).AbsoluteUri);
        (adopted.Sha256, adopted.Size).ShouldBe((sha, 7L));
        await Should.ThrowAsync<DataAccessRefused>(() => store.AdoptAsync(adopted.Uri, sha, work, Ct),
            "an object already in the store (readable to jobs) is another run's output, not this job's");
        await Should.ThrowAsync<ArtifactIntegrityException>(() => store.AdoptAsync(new Uri(output).AbsoluteUri, new string('0', 64), work, Ct));
        await Should.ThrowAsync<DataAccessRefused>(() => store.AdoptAsync(new Uri(output).AbsoluteUri, sha, null, Ct), "a runtime whose jobs run elsewhere has no job folder here");
    }

    [Fact]
    public async Task Given_a_job_claiming_a_file_outside_its_own_folder_When_adopted_Then_it_is_refused_even_through_a_link_or_another_jobs_folder()
    {
        var jobs = Directory.CreateDirectory(Path.Combine(_dir, "jobs")).FullName;
        var work = Directory.CreateDirectory(Path.Combine(jobs, "train-1", "work")).FullName;
        var other = Directory.CreateDirectory(Path.Combine(jobs, "train-2", "work")).FullName;
        var store = new LocalArtifactStore(new DataRoots(Path.Combine(_dir, "store"), [_dir]));
        var secret = File("signing.key", "secret");
        var sha = await ArtifactStore.Sha256Async(secret, Ct);
        var link = Path.Combine(work, "link.onnx");
        System.IO.File.CreateSymbolicLink(link, secret);
        var theirs = Path.Combine(other, "model.onnx");
        System.IO.File.Copy(secret, theirs);
        var folderLink = Path.Combine(work, "keys");
        Directory.CreateSymbolicLink(folderLink, _dir);

        await Should.ThrowAsync<DataAccessRefused>(() => store.AdoptAsync(new Uri(secret).AbsoluteUri, sha, work, Ct), "a data root is no job folder");
        (await Should.ThrowAsync<DataAccessRefused>(() => store.AdoptAsync(new Uri(link).AbsoluteUri, sha, work, Ct))).Message.ShouldNotContain("secret\n");
        await Should.ThrowAsync<DataAccessRefused>(() => store.AdoptAsync(new Uri(Path.Combine(folderLink, "signing.key")).AbsoluteUri, sha, work, Ct));
        await Should.ThrowAsync<DataAccessRefused>(() => store.AdoptAsync(new Uri(theirs).AbsoluteUri, sha, work, Ct), "another job's output is not this job's");
        (Directory.Exists(Path.Combine(_dir, "store")) ? Directory.GetFiles(Path.Combine(_dir, "store"), "*", SearchOption.AllDirectories) : [])
            .ShouldBeEmpty("nothing was stored, not even a temporary copy");
    }

    [Fact]
    public void Given_a_local_store_When_a_job_is_given_its_settings_Then_it_writes_a_store_of_its_own_and_reads_the_data_roots()
    {
        var data = Directory.CreateDirectory(Path.Combine(_dir, "data")).FullName;
        var (environment, secrets) = ArtifactStore.ForJob(new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["Datasets:Roots"] = data }).Build(), _dir);

        environment["Artifacts__Root"].ShouldBe(ArtifactStore.JobStore);
        environment["Datasets__Roots"].Split(';').ShouldBe([Path.Combine(_dir, "artifacts"), data]);
        secrets.ShouldBeEmpty();
    }

    [Fact]
    public void Given_an_S3_store_with_credentials_in_configuration_When_a_job_elsewhere_is_given_its_settings_Then_they_are_its_secrets_and_no_data_root()
    {
        // Configuration, not the process environment: a Vault agent's files (EMO_CONFIG_FILES) are configuration too.
        var (environment, secrets) = ArtifactStore.ForJob(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Artifacts:S3:Bucket"] = "models", ["AWS_ACCESS_KEY_ID"] = "AKIA-from-vault", ["AWS_SECRET_ACCESS_KEY"] = "s3cret", ["AWS_REGION"] = "eu-west-1",
        }).Build(), _dir, onThisMachine: false);

        secrets.ShouldBe(new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = "AKIA-from-vault", ["AWS_SECRET_ACCESS_KEY"] = "s3cret" });
        environment["Artifacts__S3__Bucket"].ShouldBe("models");
        environment["AWS_REGION"].ShouldBe("eu-west-1");
        environment.ShouldNotContainKey("Datasets__Roots");
        environment.Values.ShouldNotContain("s3cret");
    }

    [Theory]
    [InlineData("file:///work/store/model.onnx\u0000.txt", "ok")]
    [InlineData("file:///work/store/../../etc/shadow", "ok")]
    [InlineData("http://169.254.169.254/latest", "ok")]
    [InlineData("file:///work/store/model.onnx", "../../../../etc/passwd")]
    [InlineData("file:///work/store/model.onnx", "a")]
    [InlineData("file:///work/store/model.onnx", "")]
    public async Task Given_a_hostile_claim_When_adopted_Then_it_is_refused_with_a_short_message_and_nothing_is_written(string uri, string sha)
    {
        var claimed = sha == "ok" ? new string('a', 64) : sha;

        var refused = await Should.ThrowAsync<DataAccessRefused>(() => NewStore().AdoptAsync(uri.Replace("/work", _dir), claimed, Path.Combine(_dir, "work"), Ct));

        refused.Message.Length.ShouldBeLessThan(200);
        Directory.Exists(Path.Combine(_dir, "store")).ShouldBeFalse();
    }

    [Fact]
    public async Task Given_a_huge_claimed_uri_When_adopted_Then_the_refusal_does_not_echo_it() =>
        (await Should.ThrowAsync<DataAccessRefused>(() => NewStore().AdoptAsync("file:///" + new string('a', 50_000), new string('a', 64), _dir, Ct)))
            .Message.Length.ShouldBeLessThan(200);

    private LocalArtifactStore NewStore() => new(Path.Combine(_dir, "store"));
}
