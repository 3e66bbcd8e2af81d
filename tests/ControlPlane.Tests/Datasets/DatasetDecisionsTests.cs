using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Datasets;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Datasets;

public class DatasetDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly DataLocations Locations = new(["/srv/emo/artifacts", "/data"], "ml-data");
    private static readonly DataLocations Rooted = Locations;
    private static readonly RegisterDataset Command = new(Guid.NewGuid(), Guid.NewGuid(), "ratings", "s3://ml-data/u.data", new string('b', 64), "movielens-udata", 5, []);

    [Fact]
    public void Given_nothing_When_registering_Then_the_dataset_is_registered() =>
        DatasetDecisions.Register(null, Command, Locations, TrainerCatalog.BuiltIn, "alice", Now).ThenEvents(
            new DatasetRegistered(Command.DatasetId, "ratings", "s3://ml-data/u.data", new string('b', 64), "movielens-udata", 5, [], "alice", Now));

    [Fact]
    public void Given_a_registered_dataset_When_registering_the_same_id_Then_it_is_refused_because_datasets_are_immutable() =>
        ThenRefused<Refused>(() => DatasetDecisions.Register(
            Given<Dataset>(DatasetDecisions.Register(null, Command, Locations, TrainerCatalog.BuiltIn, "alice", Now)), Command, Locations, TrainerCatalog.BuiltIn, "alice", Now), "immutable");

    [Theory]
    [InlineData("sha256", "not-a-digest")]
    [InlineData("name", "Bad Name")]
    [InlineData("name", "ratings\n")] // a final line break passes a `$` check: names are matched to their very end
    [InlineData("format", "xlsx")]
    public void Given_bad_input_When_registering_Then_the_field_is_named(string field, string value)
    {
        var bad = field switch
        {
            "sha256" => Command with { Sha256 = value },
            "name" => Command with { Name = value },
            _ => Command with { Format = value },
        };
        ThenRefused<InvalidField>(() => DatasetDecisions.Register(null, bad, Locations, TrainerCatalog.BuiltIn, "alice", Now), field).Field.ShouldBe(field);
    }

    [Theory]
    [InlineData("file:///srv/emo/keys/signing.key")]
    [InlineData("file:///srv/emo/keys/../keys/signing.key")]
    [InlineData("file:///srv/emo/pg/data/pg_hba.conf")]
    [InlineData("file:///etc/passwd")]
    [InlineData("file:///data/../etc/passwd")]
    [InlineData("file:///data/%2e%2e/etc/passwd")]
    [InlineData("file:///data%2f..%2fetc/passwd")]
    [InlineData("../../etc/passwd")]
    [InlineData("file:///proc/self/environ")]
    [InlineData("file:///dev/zero")]
    [InlineData("file://evil.example/data/u.data")]
    [InlineData("file:///data/u.data%00.csv")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("https://example.org/u.data")]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/plain,1")]
    [InlineData("ftp://host/u.data")]
    [InlineData("s3://../x")]
    [InlineData("s3://someone-elses-bucket/secret.csv")]
    [InlineData("generate://Recommender?seed=1")]
    [InlineData("generate://recommender?epochs=3")]
    [InlineData("generate://recommender?users=1e300")]
    [InlineData("generate://recommender?seed=1&seed=2")]
    [InlineData("generate://anomaly?days=0")]
    public void Given_a_location_that_must_never_be_read_When_registering_Then_the_uri_is_refused(string uri) =>
        ThenRefused<InvalidField>(() => DatasetDecisions.Register(null, Command with { Uri = uri }, Locations, TrainerCatalog.BuiltIn, "alice", Now), "uri").Field.ShouldBe("uri");

    [Fact]
    public void Given_data_roots_When_registering_Then_only_files_under_them_are_accepted()
    {
        DatasetDecisions.Register(null, Command with { Uri = "file:///data/ml/u.data" }, Rooted, TrainerCatalog.BuiltIn, "alice", Now).ShouldHaveSingleItem();
        ThenRefused<InvalidField>(() => DatasetDecisions.Register(null, Command with { Uri = "file:///data-evil/u.data" }, Rooted, TrainerCatalog.BuiltIn, "alice", Now), "data root");
        ThenRefused<InvalidField>(() => DatasetDecisions.Register(null, Command with { Uri = "file:///tmp/u.data" }, Rooted, TrainerCatalog.BuiltIn, "alice", Now), "data root");
    }

    [Fact]
    public void Given_a_huge_uri_When_registering_Then_the_error_does_not_echo_it()
    {
        var huge = "file:///data/" + new string('a', 20_000);
        var refused = Should.Throw<InvalidField>(() => DatasetDecisions.Register(null, Command with { Uri = huge }, Locations, TrainerCatalog.BuiltIn, "alice", Now));
        refused.Message.Length.ShouldBeLessThan(200);
    }
}
