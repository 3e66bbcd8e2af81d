using Microsoft.Extensions.Configuration;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.Tests.Security;

/// <summary>A leaked key can only be rotated: tokens of the old key keep working until it is retired, then stop.</summary>
public sealed class KeyRotationTests
{
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Given_a_rotated_key_When_old_and_new_tokens_are_checked_Then_both_pass_until_the_old_key_is_retired()
    {
        var folder = Path.Combine(Directory.CreateTempSubdirectory("emo-keys-").FullName, "keys");
        var before = new Tokens(Tokens.LoadOrCreateKeyFile(Path.Combine(folder, Tokens.KeyFile)));
        var old = before.Issue("alice", [Roles.Viewer], TimeSpan.FromHours(1));
        File.GetUnixFileMode(Path.Combine(folder, Tokens.KeyFile)).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite, "0600 from its first byte");
        File.GetUnixFileMode(folder).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        Tokens.Rotate(folder);
        var rotated = Load(folder);
        var fresh = rotated.Issue("bob", [Roles.Viewer], TimeSpan.FromHours(1));

        (await rotated.AuthenticateAsync(old)).Name.ShouldBe("alice");
        (await rotated.AuthenticateAsync(fresh)).Name.ShouldBe("bob");
        await Should.ThrowAsync<Unauthenticated>(() => before.AuthenticateAsync(fresh), "the old key alone does not know the new one");

        foreach (var file in Tokens.PreviousKeyFiles(folder)) File.Delete(file);
        var retired = Load(folder);
        (await Should.ThrowAsync<Unauthenticated>(() => retired.AuthenticateAsync(old))).Message.ShouldContain("signature does not match");
        (await retired.AuthenticateAsync(fresh)).Name.ShouldBe("bob");
    }

    [Fact]
    public async Task Given_a_work_order_grant_When_used_as_a_bearer_token_Then_it_is_refused()
    {
        var tokens = new Tokens(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        (await Should.ThrowAsync<Unauthenticated>(() => tokens.AuthenticateAsync(tokens.IssueGrant(Scopes.Run(Guid.NewGuid()), TimeSpan.FromMinutes(1)))))
            .Message.ShouldContain("not a bearer token");
        (await Should.ThrowAsync<Unauthenticated>(() => tokens.GrantScopeAsync(tokens.Issue("mallory", [Roles.Agent], TimeSpan.FromMinutes(1)))))
            .Message.ShouldContain("not a work-order grant");
    }

    [Fact]
    public async Task Given_a_key_file_someone_else_writes_When_loaded_Then_it_signs_the_previous_keys_still_validate_and_a_missing_file_is_an_error()
    {
        // What a Vault agent renders: the current key as a file, the retiring ones as a setting (EMO_CONFIG_FILES).
        var folder = Directory.CreateTempSubdirectory("emo-vault-keys-").FullName;
        var current = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var previous = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        File.WriteAllText(Path.Combine(folder, "signing.key"), Convert.ToBase64String(current) + "\n");
        var old = new Tokens(previous).Issue("alice", [Roles.Viewer], TimeSpan.FromHours(1));

        var loaded = Tokens.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(
            [new("Auth:SigningKeyFile", Path.Combine(folder, "signing.key")), new("Auth:PreviousSigningKeys", Convert.ToBase64String(previous))]).Build());

        (await new Tokens(current).AuthenticateAsync(loaded.Issue("bob", [Roles.Viewer], TimeSpan.FromHours(1)))).Name.ShouldBe("bob");
        (await loaded.AuthenticateAsync(old)).Name.ShouldBe("alice");
        Directory.GetFiles(folder).ShouldBe([Path.Combine(folder, "signing.key")], "nothing is created beside it");
        Should.Throw<InvalidOperationException>(() => Tokens.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(
            [new("Auth:SigningKeyFile", Path.Combine(folder, "absent.key"))]).Build())).Message.ShouldContain("does not exist");
    }

    private static Tokens Load(string folder) => Tokens.FromConfiguration(new ConfigurationBuilder()
        .AddInMemoryCollection([new("Auth:KeysFolder", folder)]).Build());
}
