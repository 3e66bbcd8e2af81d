using EventMlOps.Contracts.Endpoints;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Converging;

/// <summary>The serving process against a stand-in control plane that implements the long poll and collects the
/// observed-state reports.</summary>
public class ControlPlaneDesiredStateTests(TrainedModels models)
{
    [Fact]
    public async Task Given_a_control_plane_When_its_desired_state_changes_Then_serving_follows_the_long_poll_and_reports_what_it_loaded()
    {
        await using var controlPlane = await StandInControlPlane.StartAsync(new ApplyEndpoint("recommend", 1, [models.RecommenderV1()], 1, 1));
        await using var serving = await controlPlane.StartServingAsync(models);

        var first = await controlPlane.ReportAsync(1);
        (first.Endpoint, first.Ready, first.Message).ShouldBe(("recommend", true, null));
        first.Loaded.ShouldBe([new LoadedVersion(1, models.RecommenderV1().ArtifactSha256, 100)]);
        controlPlane.Polls.ShouldBeGreaterThanOrEqualTo(2, "the failed first poll was retried");
        (await serving.GetJson("/recommend?user_id=1")).Version.ShouldBe("rec@1");

        controlPlane.Publish(new ApplyEndpoint("recommend", 2, [models.RecommenderV1(weight: 0), models.RecommenderV2(weight: 100)], 1, 1));
        var second = await controlPlane.ReportAsync(2);
        second.Ready.ShouldBeTrue();
        second.Loaded!.Select(l => (l.Version, l.Weight)).ShouldBe([(1, 0), (2, 100)]);
        (await serving.GetJson("/recommend?user_id=1")).Version.ShouldBe("rec@2");

        controlPlane.Publish(new ApplyEndpoint("recommend", 3, [models.RecommenderV2(), models.HashMismatch()], 1, 1));
        var third = await controlPlane.ReportAsync(3);
        third.Ready.ShouldBeFalse();
        third.Message!.ShouldContain("rec@3");
        third.Message!.ShouldContain("sha256");
        third.Loaded!.Select(l => l.Version).ShouldBe([2]);
        second.CommandId.ShouldNotBe(third.CommandId);
    }
}
