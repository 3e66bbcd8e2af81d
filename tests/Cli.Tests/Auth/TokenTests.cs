using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Auth;

public sealed class TokenTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_the_local_signing_key_When_a_token_is_issued_Then_the_control_plane_accepts_it_with_its_roles()
    {
        var issued = (await new EmoUser(cp, token: null).RunAsync("token", "--role", "viewer", "--role", "scientist", "--name", "carol")).ShouldSucceed();

        var token = issued.Out.Trim();
        var actor = await cp.Tokens.AuthenticateAsync(token);
        actor.Name.ShouldBe("carol");
        actor.Roles.ShouldBe([Roles.Viewer, Roles.Scientist], ignoreOrder: true);
        // ... and the API takes it.
        (await new EmoUser(cp, token).RunAsync("datasets", "list")).ShouldSucceed();
    }

    [Fact]
    public async Task Given_an_unknown_role_When_a_token_is_asked_for_Then_the_roles_are_named_and_the_exit_code_is_2()
    {
        var result = await cp.Anonymous().RunAsync("token", "--role", "superuser", "--name", "x");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldStartWith("error: --role: 'superuser' is not one of viewer, scientist, approver, operator");
        result.Err.ShouldEndWith("see 'emo token --help'\n");
    }

    [Fact]
    public async Task Given_no_token_anywhere_When_a_query_runs_Then_it_fails_clearly_without_calling_the_api()
    {
        var result = await cp.Anonymous().RunAsync("runs", "list");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("error: no token");
        result.Err.ShouldContain("./emo up");
    }

    [Fact]
    public async Task Given_a_token_signed_with_another_key_When_a_query_runs_Then_the_refusal_is_explained()
    {
        var foreign = new EventMlOps.ControlPlane.Auth.Tokens(new byte[32]).Issue("mallory", [Roles.Admin], TimeSpan.FromHours(1));

        var result = await new EmoUser(cp, foreign).RunAsync("models", "list");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("error: Unauthenticated: the bearer token was refused");
        result.Err.ShouldContain("signature does not match this control plane's keys");
    }
}
