using EventMlOps.Cli.Tests.Testing;

namespace EventMlOps.Cli.Tests.Demo;

public sealed class DemoTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_running_control_plane_When_the_demo_runs_Then_it_narrates_the_whole_lifecycle_and_exits_0()
    {
        var demo = (await new EmoUser(cp, token: null).RunAsync("demo")).ShouldSucceed().Out;

        demo.ShouldContain("refused (422 Refused): four-eyes rule: alice requested the run behind recommender@1");
        demo.ShouldContain("traffic: v1 100%");
        demo.ShouldContain("traffic: v1 90% / v2 10%");
        demo.ShouldContain("traffic: v2 100%");
        demo.ShouldContain("approved ");
        demo.ShouldContain("by bob: \"offline HR@10 above the bar\"");
        demo.ShouldContain("(as of seq ");
        demo.ShouldContain("rollout_promoted");
        demo.ShouldContain("demo done in");
    }
}
