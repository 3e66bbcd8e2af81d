using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Registry;

public sealed class ApprovingVersionsTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_version_of_alices_run_When_alice_approves_it_Then_the_four_eyes_refusal_is_printed_with_exit_2()
    {
        var lifecycle = new Lifecycle(cp);
        var (_, _, version) = await lifecycle.RegisteredVersionAsync();

        var result = await lifecycle.Alice.RunAsync("versions", "approve", version, "--comment", "mine");

        result.ExitCode.ShouldBe(2);
        // Registered by the policy or (when its gate blocked the tiny run) by alice: either way alice is an author.
        result.Err.ShouldContain("error: Refused: four-eyes rule: alice ");
        result.Err.ShouldContain("cannot approve it");
    }

    [Fact]
    public async Task Given_bobs_approval_When_the_version_is_staged_and_aliased_Then_models_show_lists_it()
    {
        var lifecycle = new Lifecycle(cp);
        var (_, _, version) = await lifecycle.RegisteredVersionAsync();

        // @latest and an alias stand for the version wherever model@version does.
        (await lifecycle.Bob.RunAsync("versions", "approve", $"{lifecycle.Model}@latest", "--comment", "looks good")).ShouldSucceed().Out.ShouldContain($"approved {version}");
        (await lifecycle.Alice.RunAsync("versions", "alias", version, "champion")).ShouldSucceed();
        (await lifecycle.Bob.RunAsync("versions", "stage", $"{lifecycle.Model}@champion", "production")).ShouldSucceed().Out.ShouldContain($"{version} is now in Production");
        (await lifecycle.Bob.RunAsync("lineage", $"{lifecycle.Model}@champion")).ShouldSucceed().Out.ShouldStartWith($"lineage of {version}");
        (await lifecycle.Bob.RunAsync("models", "show", $"{lifecycle.Model}@champion")).ShouldSucceed().Out.ShouldContain("by bob: \"looks good\"");
        var unknown = await lifecycle.Bob.RunAsync("lineage", $"{lifecycle.Model}@challenger");
        (unknown.ExitCode, unknown.Err.Trim()).ShouldBe((2, $"error: model '{lifecycle.Model}' has no alias 'challenger' (its aliases: champion)"));

        var shown = (await lifecycle.Bob.RunAsync("models", "show", lifecycle.Model)).ShouldSucceed().Out;
        shown.ShouldContain("Production");
        shown.ShouldContain("champion");
        var detail = (await lifecycle.Bob.RunAsync("models", "show", version)).ShouldSucceed().Out;
        detail.ShouldContain("by bob: \"looks good\"");
        detail.ShouldContain("None → Production by bob");
        (await lifecycle.Bob.RunAsync("models", "list")).ShouldSucceed().Out.ShouldContain(lifecycle.Model);
    }

    [Fact]
    public async Task Given_no_approval_When_production_is_asked_for_Then_the_refusal_is_printed()
    {
        var lifecycle = new Lifecycle(cp);
        var (_, _, version) = await lifecycle.RegisteredVersionAsync();

        var result = await lifecycle.Bob.RunAsync("versions", "stage", version, "Production");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("needs an approval by someone other than its registrant");
    }

    [Fact]
    public async Task Given_an_unknown_model_When_it_is_shown_Then_the_404_message_is_printed_with_exit_2()
    {
        var result = await cp.As("vera", Roles.Viewer).RunAsync("models", "show", "no-such-model");

        result.ExitCode.ShouldBe(2);
        result.Err.Trim().ShouldBe("error: Unknown model: model 'no-such-model' does not exist");
        result.Out.ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_a_malformed_version_reference_When_approving_Then_usage_error_exit_2()
    {
        var result = await cp.As("bob", Roles.Approver).RunAsync("versions", "approve", "recommender-without-version");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("is not <model>@<version>");
    }
}
