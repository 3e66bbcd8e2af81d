using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.Hosting;
using Marten;

namespace EventMlOps.ControlPlane.Tests.Datasets;

/// <summary>A dataset is its content: the server, not a racy look-up in each client, answers a second registration of the
/// same sha256 with the dataset that holds it.</summary>
public sealed class DatasetIdentityTests(ControlPlaneFixture fx)
{
    [Fact]
    public async Task Given_registered_content_When_it_is_registered_again_under_another_id_Then_the_answer_names_the_existing_dataset()
    {
        var s = new Scenario(fx);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray()));
        RegisterDataset Registration() => new(Guid.NewGuid(), Guid.NewGuid(), "content", "s3://bucket/content.csv", sha, "csv", 3, []);
        var first = Registration();

        var created = await (await s.Scientist.Send("/api/datasets", first)).Read<CommandAccepted>();
        var second = Registration();
        var again = await (await s.Scientist.Send("/api/datasets", second)).Read<CommandAccepted>();

        (created.Stream, created.Appended).ShouldBe((StreamKeys.Dataset(first.DatasetId), 1));
        (again.Stream, again.Appended).ShouldBe((StreamKeys.Dataset(first.DatasetId), 0));
        await using var session = fx.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync(StreamKeys.Dataset(second.DatasetId), TestContext.Current.CancellationToken)).ShouldBeNull();
        (await (await s.Scientist.Send("/api/datasets", Registration() with { Uri = "file:///etc/passwd" })).Problem(400))
            .GetProperty("field").GetString().ShouldBe("uri", "known content does not excuse a bad registration");
    }
}
