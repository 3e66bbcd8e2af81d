using EventMlOps.Contracts.Datasets;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Datasets;

public class DatasetDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly RegisterDataset Command = new(Guid.NewGuid(), Guid.NewGuid(), "ratings", "s3://b/u.data", new string('b', 64), "movielens-udata", 5, []);

    [Fact]
    public void Given_nothing_When_registering_Then_the_dataset_is_registered() =>
        DatasetDecisions.Register(null, Command, "alice", Now).ThenEvents(
            new DatasetRegistered(Command.DatasetId, "ratings", "s3://b/u.data", new string('b', 64), "movielens-udata", 5, [], "alice", Now));

    [Fact]
    public void Given_a_registered_dataset_When_registering_the_same_id_Then_it_is_refused_because_datasets_are_immutable() =>
        ThenRefused<Refused>(() => DatasetDecisions.Register(
            Given<Dataset>(DatasetDecisions.Register(null, Command, "alice", Now)), Command, "alice", Now), "immutable");

    [Theory]
    [InlineData("sha256", "not-a-digest")]
    [InlineData("name", "Bad Name")]
    [InlineData("format", "xlsx")]
    public void Given_bad_input_When_registering_Then_the_field_is_named(string field, string value)
    {
        var bad = field switch
        {
            "sha256" => Command with { Sha256 = value },
            "name" => Command with { Name = value },
            _ => Command with { Format = value },
        };
        ThenRefused<InvalidField>(() => DatasetDecisions.Register(null, bad, "alice", Now), field).Field.ShouldBe(field);
    }
}
