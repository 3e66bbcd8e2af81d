using System.Text.Json;
using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Bus;

public sealed class PublishingTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_RegisterDataset_json_file_When_it_is_published_on_the_bus_Then_the_dataset_is_listed_within_seconds()
    {
        var datasetId = Guid.NewGuid();
        var file = Path.Combine(Directory.CreateTempSubdirectory("emo-cli-publish-").FullName, "register.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            type = "RegisterDataset",
            message = new
            {
                datasetId, name = "published", uri = "s3://bucket/ratings.dat", sha256 = new string('a', 64),
                format = "movielens-ratings", rowCount = 1000, schema = Array.Empty<object>(),
            },
        }));
        var alice = cp.As("alice", Roles.Scientist);

        var published = (await alice.RunAsync("publish", file, "--connection", cp.ConnectionString, "--schema", cp.Schema)).ShouldSucceed();

        published.Out.ShouldContain("published RegisterDataset (command ");
        published.Out.ShouldContain($"{cp.Schema}_queues.emo-control-plane");
        published.Out.ShouldContain($"; accepted: 1 event(s) on dataset:{datasetId:N}");
        string listed = "";
        for (var deadline = DateTime.UtcNow.AddSeconds(10); !listed.Contains(datasetId.ToString()) && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
            listed = (await alice.RunAsync("datasets", "list", "--json")).ShouldSucceed().Out;
        }
        listed.ShouldContain(datasetId.ToString());
        var dataset = (await alice.RunAsync("datasets", "show", datasetId.ToString(), "--json")).ShouldSucceed().Json();
        dataset.GetProperty("registeredBy").GetString().ShouldBe("alice");
    }

    [Fact]
    public async Task Given_a_command_the_control_plane_refuses_When_it_is_published_on_the_bus_Then_the_sender_is_told_why()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("emo-cli-publish-").FullName, "refused.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            type = "RegisterDataset",
            message = new { datasetId = Guid.NewGuid(), name = "loot", uri = "file:///etc/passwd", sha256 = new string('a', 64), format = "other", rowCount = 1, schema = Array.Empty<object>() },
        }));

        var refused = await cp.As("alice", Roles.Scientist).RunAsync("publish", file, "--connection", cp.ConnectionString, "--schema", cp.Schema);

        refused.ExitCode.ShouldBe(2);
        refused.Out.ShouldContain("; refused (400): uri: ");
        var viewer = await cp.As("victor", Roles.Viewer).RunAsync("publish", file, "--connection", cp.ConnectionString, "--schema", cp.Schema);
        viewer.ExitCode.ShouldBe(2);
        viewer.Out.ShouldContain("; refused (403): RegisterDataset needs the role 'scientist'");
    }

    [Fact]
    public async Task Given_a_message_without_a_type_When_it_is_published_Then_usage_error_lists_the_command_types()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("emo-cli-publish-").FullName, "bare.json");
        File.WriteAllText(file, """{"name": "x"}""");

        var result = await cp.As("alice", Roles.Scientist).RunAsync("publish", file, "--type", "NoSuchCommand");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("'NoSuchCommand' is not a command of contracts/");
        result.Err.ShouldContain("RegisterDataset");
    }

    [Fact]
    public async Task Given_no_database_anywhere_When_publishing_Then_the_cli_says_where_a_connection_string_comes_from()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("emo-cli-publish-").FullName, "cancel.json");
        File.WriteAllText(file, $$"""{"runId": "{{Guid.NewGuid()}}", "reason": "x"}""");
        var elsewhere = Directory.CreateTempSubdirectory("emo-cli-nohome-").FullName;

        var alice = new EmoUser(cp, cp.Tokens.Issue("alice", [Roles.Scientist], TimeSpan.FromHours(1)), home: elsewhere);

        var result = await alice.RunAsync("publish", file, "--type", "CancelTraining");

        result.ExitCode.ShouldBe(1);
        result.Err.ShouldContain("no PostgreSQL to publish to");
    }
}
