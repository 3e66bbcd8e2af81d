using EventMlOps.Cli.Tests.Testing;

namespace EventMlOps.Cli.Tests.Demo;

public sealed class DemoTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_running_control_plane_and_agents_When_the_quick_demo_runs_Then_it_trains_for_real_and_narrates_the_whole_lifecycle()
    {
        var demo = (await new EmoUser(cp, token: null).RunAsync("demo", "--quick")).ShouldSucceed().Out;

        demo.ShouldContain("agent: epoch 3/3");
        demo.ShouldContain("(verified against the torch forward pass)");
        demo.ShouldContain("the registration policy registered the run as recommender@1");
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
