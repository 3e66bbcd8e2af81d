using System.Security.Cryptography;
using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Datasets;

public sealed class RegisteringDatasetsTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_local_ratings_file_When_it_is_registered_Then_its_sha256_rows_and_format_are_computed_by_the_cli()
    {
        var file = Lifecycle.RatingsFile(rows: 37);
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
        var alice = cp.As("alice", Roles.Scientist);

        var registered = (await alice.RunAsync("datasets", "register", file, "--name", "ratings-37")).ShouldSucceed();

        registered.Out.ShouldContain(sha);
        registered.Out.ShouldContain("movielens-udata, 37 rows");
        var listed = (await alice.RunAsync("datasets", "list", "--json")).ShouldSucceed().Json().EnumerateArray()
            .Single(d => d.GetProperty("sha256").GetString() == sha);
        listed.GetProperty("rowCount").GetInt64().ShouldBe(37);
        // Stored in the artifact store under its digest: the only place (with Datasets:Roots) datasets are read from.
        var stored = listed.GetProperty("uri").GetString()!;
        stored.ShouldEndWith($"/artifacts/sha256/{sha[..2]}/{sha}");
        (await File.ReadAllBytesAsync(new Uri(stored).LocalPath, TestContext.Current.CancellationToken))
            .ShouldBe(await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken));
        listed.GetProperty("registeredBy").GetString().ShouldBe("alice");
        // The default table leaves the format out and shortens the digest; -o wide shows every column and the whole digest.
        var narrow = (await alice.RunAsync("datasets", "list")).ShouldSucceed().Out;
        narrow.ShouldContain("ratings-37");
        narrow.ShouldContain(sha[..12] + "…");
        narrow.ShouldNotContain(sha);
        narrow.ShouldNotContain("FORMAT");
        var wide = (await alice.RunAsync("datasets", "list", "-o", "wide")).ShouldSucceed().Out;
        wide.ShouldContain(sha);
        wide.Split('\n')[0].ShouldContain("FORMAT");
        wide.ShouldContain("movielens-udata");
    }

    [Fact]
    public async Task Given_a_remote_uri_without_a_digest_When_it_is_registered_Then_the_cli_asks_for_sha256()
    {
        var result = await cp.As("alice", Roles.Scientist).RunAsync("datasets", "register", "s3://bucket/ratings.parquet", "--name", "remote");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("--sha256");
    }

    [Fact]
    public async Task Given_a_viewer_When_it_registers_a_dataset_Then_the_forbidden_reason_is_printed_with_exit_2()
    {
        var result = await cp.As("victor", Roles.Viewer).RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", "nope");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("error: Forbidden:");
        result.Err.ShouldContain("scientist");
    }
}
