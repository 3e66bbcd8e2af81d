using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Registry;

public sealed class ModelPoliciesTests(ControlPlaneFixture cp)
{
    /// <summary>olga operates and may train: the roles a retraining loop with a rollout acts with.</summary>
    private readonly EmoUser _olga = cp.As("olga", Roles.Operator, Roles.Scientist);

    private async Task<(string Model, string Dataset)> ModelAndDatasetAsync()
    {
        var model = await cp.SeedModelAsync("m-" + Guid.NewGuid().ToString("N")[..10]);
        var dataset = "fresh-" + Guid.NewGuid().ToString("N")[..8];
        (await cp.As("alice", Roles.Scientist).RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", dataset)).ShouldSucceed();
        return (model, dataset);
    }

    [Fact]
    public async Task Given_a_model_When_its_policy_is_set_changed_in_part_and_turned_off_Then_show_prints_each_state()
    {
        var (model, dataset) = await ModelAndDatasetAsync();
        (await _olga.RunAsync("models", "policy", model)).ShouldSucceed().Out.ShouldContain("no policy set: the defaults");

        (await _olga.RunAsync("models", "policy", model, "--retrain-on-drift", "--dataset", dataset, "--rollout", "canary", "--steps", "10:60,50:120",
                "--drift-share", "0.3", "--test", "user=psi:0.2", "--test", "item=ks:0.01")).ShouldSucceed()
            .Out.Trim().ShouldBe($"policy of {model} set: retrains on '{dataset}', a canary 10% 60 s → 50% 120 s");
        var shown = (await _olga.RunAsync("models", "policy", model)).ShouldSucceed().Out;
        shown.ShouldContain("by olga");
        shown.ShouldContain("≥ 0.3 of the input features");
        shown.ShouldContain("test        item: ks p < 0.01");
        shown.ShouldContain("test        user: psi ≥ 0.2");
        shown.ShouldContain($"a run on the latest '{dataset}', then after a four-eyes approval a canary 10% 60 s → 50% 120 s");

        // Options given replace those values; the rest of the policy stays.
        (await _olga.RunAsync("models", "policy", model, "--window-samples", "800")).ShouldSucceed();
        var json = (await _olga.RunAsync("models", "policy", model, "--json")).ShouldSucceed().Json();
        json.GetProperty("drift").GetProperty("windowSamples").GetInt32().ShouldBe(800);
        json.GetProperty("drift").GetProperty("driftShare").GetDouble().ShouldBe(0.3);
        json.GetProperty("retraining").GetProperty("dataset").GetString().ShouldBe(dataset);
        (await _olga.RunAsync("models", "policy", model, "--window-samples", "800")).ShouldSucceed().Out.ShouldContain("already so: nothing appended");

        (await _olga.RunAsync("models", "policy", model, "--no-retrain")).ShouldSucceed().Out.ShouldContain("no retraining on drift");
        (await _olga.RunAsync("models", "policy", model)).ShouldSucceed().Out.ShouldContain("retraining  none on drift");
    }

    [Theory]
    [InlineData("--test", "user=magic:0.1", "is not feature=method:threshold")]
    [InlineData("--steps", "10-60", "describe retraining: add --retrain-on-drift")]
    [InlineData("--dataset", "ratings", "--dataset, --rollout and --steps describe retraining")]
    public async Task Given_malformed_options_When_setting_Then_usage_error_exit_2(string option, string value, string message)
    {
        var (model, _) = await ModelAndDatasetAsync();
        var result = await _olga.RunAsync("models", "policy", model, option, value);
        result.ExitCode.ShouldBe(2, result.ToString());
        result.Err.ShouldContain(message);
    }

    [Fact]
    public async Task Given_a_feature_tested_twice_When_setting_Then_usage_error_exit_2_not_a_crash()
    {
        var (model, _) = await ModelAndDatasetAsync();
        var result = await _olga.RunAsync("models", "policy", model, "--test", "user=psi:0.2", "--test", "user=ks:0.01");
        result.ExitCode.ShouldBe(2, result.ToString());
        result.Err.ShouldContain("--test: 'user' is tested twice");
        result.Err.ShouldNotContain("   at ");
    }

    [Fact]
    public async Task Given_values_the_control_plane_refuses_When_setting_Then_its_reason_is_printed_with_exit_2()
    {
        var (model, dataset) = await ModelAndDatasetAsync();
        var share = await _olga.RunAsync("models", "policy", model, "--drift-share", "2");
        share.ExitCode.ShouldBe(2);
        share.Err.ShouldContain("drift.driftShare: must be a share in (0, 1]");
        var unknown = await _olga.RunAsync("models", "policy", model, "--retrain-on-drift", "--dataset", "no-such-data");
        unknown.ExitCode.ShouldBe(2);
        unknown.Err.ShouldContain("dataset 'no-such-data' does not exist");
        var steps = await _olga.RunAsync("models", "policy", model, "--retrain-on-drift", "--dataset", dataset, "--steps", "50:60,10:60");
        steps.ExitCode.ShouldBe(2);
        steps.Err.ShouldContain("retraining.rollout.steps[1].weight");
        var viewer = await cp.As("vera", Roles.Viewer).RunAsync("models", "policy", model, "--no-retrain");
        viewer.ExitCode.ShouldBe(2);
        viewer.Err.ShouldContain("needs the role 'operator'");
        var operatorOnly = await cp.As("otto", Roles.Operator).RunAsync("models", "policy", model, "--retrain-on-drift", "--dataset", dataset);
        operatorOnly.ExitCode.ShouldBe(2);
        operatorOnly.Err.ShouldContain("otto lacks the role 'scientist'");
    }

    [Fact]
    public async Task Given_the_policy_changes_between_the_clis_read_and_its_write_When_setting_Then_the_conflict_is_printed_with_exit_2_and_the_change_stays()
    {
        var (model, _) = await ModelAndDatasetAsync();
        (await _olga.RunAsync("models", "policy", model, "--detect-after", "3")).ShouldSucceed();
        await using var hop = await Interposer.StartAsync(cp.Url, "/policy",
            async () => (await cp.As("paula", Roles.Operator).RunAsync("models", "policy", model, "--clear-after", "7")).ShouldSucceed());

        var err = new StringWriter();
        var code = await EmoCli.RunAsync(["models", "policy", model, "--window-samples", "900", "--url", hop.Url, "--home", cp.Home, "--token", _olga.Token!],
            new StringWriter(), err, TestContext.Current.CancellationToken);

        code.ShouldBe(2, err.ToString());
        err.ToString().ShouldContain("Concurrency conflict: the stream changed since it was read; reload and retry");
        var drift = (await _olga.RunAsync("models", "policy", model, "--json")).ShouldSucceed().Json().GetProperty("drift");
        drift.GetProperty("clearAfter").GetInt32().ShouldBe(7, "paula's change is not overwritten");
        drift.GetProperty("detectAfter").GetInt32().ShouldBe(3);
        drift.GetProperty("windowSamples").GetInt32().ShouldBe(Contracts.Drift.DriftPolicy.Default.WindowSamples, "the stale write appended nothing");
    }
}
