using EventMlOps.Cli.Tests.Testing;

namespace EventMlOps.Cli.Tests.Demo;

public sealed class DemoTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_running_control_plane_and_agents_When_the_quick_demo_runs_Then_both_use_cases_train_serve_and_roll_out_for_real()
    {
        var demo = (await new EmoUser(cp, token: null).RunAsync("demo", "--quick", "--connection", cp.ConnectionString, "--schema", cp.Schema)).ShouldSucceed().Out;

        demo.ShouldContain("epoch 3/3 [####################]");
        demo.ShouldContain("(verified against the torch forward pass)");
        demo.ShouldContain("the registration policy registered the run as recommender@1");
        demo.ShouldContain("refused (422 Refused): four-eyes rule: alice requested the run behind recommender@1");
        demo.ShouldContain("traffic: v1 100%; replica serve-recommender (local) serves at http://127.0.0.1:");
        demo.ShouldContain("from recommender@1");
        demo.ShouldContain("traffic: v1 90% / v2 10%");
        demo.ShouldContain("→ healthy (baked 4 s: advancing to 50 %)");
        demo.ShouldContain("promoted by emo-agents after");
        demo.ShouldContain("→ breach (canary p95");
        demo.ShouldContain("rolled back automatically by emo-agents");
        demo.ShouldContain("failed requests: 0 of");
        demo.ShouldContain("by bob: \"offline HR@10 above the bar\"");
        demo.ShouldContain("(as of seq ");
        demo.ShouldContain("canary_rolled_back");
        demo.ShouldContain("replica serve-sensors serves sensors@1");
        demo.ShouldContain("listens on emo-readings-sensors");
        demo.ShouldContain("drift alarm on v1 after 2 drifting windows: temperature Psi");
        demo.ShouldContain("requested by paula (trigger: alarm ");
        demo.ShouldContain("the loop waits: waiting for approval");
        demo.ShouldContain("canary promoted after");
        demo.ShouldContain("→ clean");
        demo.ShouldContain("anomaly alarm episodes (");
        demo.ShouldContain("recommender  recommender@3");
        demo.ShouldContain("canary: rolled back");
        demo.ShouldContain("sensors      sensors@1 → sensors@2");
        demo.ShouldContain("running services"); // the control plane was given: the demo leaves it running
        demo.ShouldContain("demo done in");
    }
}
