using EventMlOps.Contracts.Artifacts;

namespace EventMlOps.Artifacts.Tests;

/// <summary>The edge validator of dataset and artifact URIs, on the attacks seen and their variants.</summary>
public class DataUrisTests
{
    private static readonly string[] Roots = ["/data", "/srv/emo/artifacts"];

    public static TheoryData<string?, string> Hostile => new()
    {
        { null, "empty" },
        { "", "empty" },
        { "file:///root/.emo/keys/signing.key", "not under a data root" },
        { "file:///work/.emo/keys/signing.key", "not under a data root" },
        { "../../etc/passwd", "relative" },
        { "/data/x.csv", "relative" },
        { "data/x.csv", "no scheme" },
        { "file:///proc/self/environ", "not under a data root" },
        { "file:///dev/zero", "not under a data root" },
        { "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "nothing is fetched" },
        { "https://example.com/data.csv", "nothing is fetched" },
        { "HTTP://169.254.169.254/", "nothing is fetched" },
        { "javascript:alert(1)", "'javascript' is not allowed" },
        { "data:text/plain;base64,aGVsbG8=", "'data' is not allowed" },
        { "ftp://example.com/x", "'ftp' is not allowed" },
        { "gopher://127.0.0.1:6379/_FLUSHALL", "'gopher' is not allowed" },
        { "C:\\data\\x.csv", "backslash" },
        { "C:/data/x.csv", "Windows path" },
        { "\\\\server\\share\\x", "backslash" },
        { "file:///data/../etc/passwd", "'..' segment" },
        { "file:///data/./x", "'..' segment" },
        { "file:///data/%2e%2e/etc/passwd", "'..' segment" },
        { "file:///data/%2E%2E/etc/passwd", "'..' segment" },
        { "file:///data%2fx", "encodes a '/'" },
        { "file:///data/a%2F..%2F..%2Fetc", "encodes a '/'" },
        { "file:///data/a%5c..", "encodes a '/' or '\\'" },
        { "file:///data//x", "empty segment" },
        { "file:///data/x/", "empty segment" },
        { "file:///data", "not under a data root" },
        { "file:///data-evil/x", "not under a data root" },
        { "file:///dataset/x", "not under a data root" },
        { "file://evil.com/data/x", "no host" },
        { "file://localhost.evil.com/data/x", "no host" },
        { "file:/data/x", "file:///absolute/path" },
        { "file:data/x", "file:///absolute/path" },
        { "file:///data/x%00.csv", "control" },
        { "file:///data/x%0a.csv", "control" },
        { "file:///data/x%7f.csv", "control" },
        { "file:///data/x%c2%a0.csv", "whitespace" },
        { "file:///data/x%e2%80%ae.csv", "invisible" },
        { "file:///data/x\0.csv", "control" },
        { "file:///data/x y.csv", "whitespace" },
        { "file:///data/x%20y.csv", "whitespace" },
        { "file:///data/x%09y.csv", "control" },
        { "file:///data/x\n.csv", "control" },
        { "file:///data/x%zz", "malformed percent-escape" },
        { "file:///data/x%2", "malformed percent-escape" },
        { "file:///data/x%ff", "invalid UTF-8" },
        { "file:///data/x?y=1", "no query" },
        { "file:///data\u2215..\u2215etc", "non-ASCII" },
        { "file:///data\uff0f..\uff0fetc", "non-ASCII" },
        { "file:///data/%e2%88%95..%e2%88%95etc", "look-alike" },
        { "file:///data/%ef%bc%8fetc", "look-alike" },
        { "file:///data/" + new string('a', 3000), "longer than 2048" },
        { "s3://../x", "bucket name" },
        { "s3://.../x", "bucket name" },
        { "s3://ab/x", "bucket name" },
        { "s3://Bucket/x", "bucket name" },
        { "s3://bucket_x/x", "bucket name" },
        { "s3://bucket", "no key" },
        { "s3://bucket/", "no key" },
        { "s3://bucket/a/../../x", "'..' segment" },
        { "s3://bucket/%2e%2e/x", "'..' segment" },
        { "s3:bucket/x", "s3://bucket/key" },
        { "generate://", "kind" },
        { "generate://Recommender?seed=1", "kind" },
        { "generate://recommender/x?seed=1", "kind" },
        { "generate://recommender?", "parameter" },
        { "generate://recommender?seed", "parameter" },
        { "generate://recommender?seed=", "parameter" },
        { "generate://recommender?=1", "parameter" },
        { "generate://recommender?out=/etc", "parameter" },
        { "generate://recommender?seed=1&&users=2", "parameter" },
        { "generate://recommender?seed=%31", "parameter" },
        { "1file:///data/x", "no scheme" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Given_a_hostile_uri_When_checked_Then_it_is_refused_with_a_short_reason(string? uri, string reason)
    {
        var problem = DataUris.Problem(uri, Roots);

        problem.ShouldNotBeNull().ShouldContain(reason);
        problem.Length.ShouldBeLessThan(DataUris.EchoLength + 100, "a reason never echoes a long input");
    }

    [Theory]
    [InlineData("file:///data/u.data")]
    [InlineData("file://localhost/data/movielens/u.data")]
    [InlineData("FILE:///data/x")]
    [InlineData("file:///data/question%3F.csv")]
    [InlineData("file:///data/donn%C3%A9es.csv")]
    [InlineData("file:///data/..x/y")]
    [InlineData("file:///srv/emo/artifacts/sha256/ab/abcdef")]
    [InlineData("s3://models/eventmlops/sha256/ab/abcdef")]
    [InlineData("s3://my.bucket-1/datasets/2024/u.data")]
    [InlineData("generate://recommender?interactions=20000&seed=42")]
    [InlineData("generate://anomaly?machines=3&days=2&seed=7")]
    [InlineData("generate://anomaly")]
    public void Given_a_valid_uri_When_checked_Then_it_is_accepted(string uri) =>
        DataUris.Problem(uri, Roots).ShouldBeNull();

    [Fact]
    public void Given_a_long_hostile_scheme_When_refused_Then_the_reason_quotes_at_most_80_characters_of_it()
    {
        var problem = DataUris.Problem(new string('x', 2000) + ":payload", Roots).ShouldNotBeNull();

        problem.ShouldContain(new string('x', 80) + "…");
        problem.ShouldNotContain(new string('x', 81));
    }

    [Fact]
    public void Given_acceptable_uris_When_parsed_Then_the_decoded_path_and_s3_object_come_back()
    {
        DataUris.FilePath("file:///data/donn%C3%A9es%3F.csv", Roots).ShouldBe("/data/données?.csv");
        DataUris.S3Object("s3://models/a/b%3Fc").ShouldBe(("models", "a/b?c"));
        Should.Throw<ArgumentException>(() => DataUris.FilePath("file:///etc/passwd", Roots));
        Should.Throw<ArgumentException>(() => DataUris.S3Object("file:///data/x"));
    }

    [Theory]
    [InlineData("data", "not an absolute path")]
    [InlineData("", "not an absolute path")]
    [InlineData("/", "whole machine")]
    [InlineData("/etc", "system folder")]
    [InlineData("/etc/emo", "system folder")]
    [InlineData("/proc/self", "system folder")]
    [InlineData("/dev", "system folder")]
    [InlineData("/var/lib/postgresql/16", "system folder")]
    [InlineData("/root/data", "system folder")]
    [InlineData("/usr/share/data", "system folder")]
    [InlineData("/data/../etc", "normalised")]
    [InlineData("/data//x", "normalised")]
    [InlineData("/data/", "normalised")]
    [InlineData("/home/emo/.emo", "protected folder")]
    [InlineData("/home/emo/.emo/keys", "protected folder")]
    [InlineData("/home/emo/.emo/keys/old", "protected folder")]
    [InlineData("/home/emo/.emo/pg", "protected folder")]
    [InlineData("/home", "protected folder")]
    public void Given_a_dangerous_data_root_When_checked_Then_it_is_refused(string root, string reason) =>
        DataUris.RootProblem(root, ["/home/emo/.emo/keys", "/home/emo/.emo/pg"]).ShouldNotBeNull().ShouldContain(reason);

    [Theory]
    [InlineData("/data")]
    [InlineData("/home/emo/datasets")]
    [InlineData("/home/emo/.emo/artifacts")]
    [InlineData("/home/emo/.emo/keys-archive")]
    [InlineData("/etcetera")]
    [InlineData("/var/lib/datasets")]
    public void Given_a_dedicated_data_root_When_checked_Then_it_is_accepted(string root) =>
        DataUris.RootProblem(root, ["/home/emo/.emo/keys", "/home/emo/.emo/pg"]).ShouldBeNull();
}
