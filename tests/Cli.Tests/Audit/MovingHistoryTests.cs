using EventMlOps.Cli.Tests.Testing;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Audit;

/// <summary><c>emo events export</c> and <c>emo events import</c>: the fixture's history carried to a new control plane (its
/// own store and keys), a touched file refused with the line, and no history for a principal who is not an admin.</summary>
public sealed class MovingHistoryTests(ControlPlaneFixture cp)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_a_control_planes_history_When_exported_and_imported_into_a_new_one_Then_both_print_the_same_head_and_a_touched_file_is_refused_at_its_line()
    {
        (await new Lifecycle(cp).Alice.RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", "moved")).ShouldSucceed();
        var file = Path.Combine(Directory.CreateTempSubdirectory("emo-history-").FullName, "history.ndjson");
        var exported = (await cp.As("ada", Roles.Admin).RunAsync("events", "export", "--out", file)).ShouldSucceed().Out;
        exported.ShouldMatch(@"^exported (\d+) events \(up to sequence (\d+)\) to .*history\.ndjson \([\d.]+ KiB\)\nhead \2:[0-9a-f]{64}\n$");
        var head = exported.Split('\n')[1];

        var home = TestHost.Folder("emo-history-target-");
        var schema = cp.Schema + "_hist";
        var (target, url) = await TestHost.StartControlPlaneAsync(cp.ConnectionString, schema, home);
        try
        {
            var admin = new Tokens(Tokens.LoadOrCreateKeyFile(Path.Combine(home, "keys", "signing.key"))).Issue("ada", [Roles.Admin], TimeSpan.FromHours(1));
            Task<EmoResult> Import(string path) => RunAsync("events", "import", path, "--url", url.ToString(), "--token", admin, "--home", home);
            var lines = await File.ReadAllLinesAsync(file, Ct);
            var touched = file + ".touched";
            await File.WriteAllLinesAsync(touched, lines.Select((l, i) => i == lines.Length - 1 ? l.Replace("\"data\":{", "\"data\":{ ", StringComparison.Ordinal) : l), Ct);

            var refused = await Import(touched);
            refused.ExitCode.ShouldBe(2, refused.ToString());
            refused.Err.ShouldBe($"error: History refused: line {lines.Length}: its content does not match its hash: the line was changed\n");

            var imported = (await Import(file)).ShouldSucceed().Out;
            imported.ShouldStartWith($"imported {lines.Length - 1} events (sequences 1..{head.Split(' ', ':')[1]}) of a history from ");
            imported.ShouldContain("subscriptions set past sequence");
            imported.ShouldEndWith($"{head}\n");
        }
        finally
        {
            await target.StopAsync(Ct);
            await target.DisposeAsync();
            await cp.DropSchemasAsync(schema);
        }
    }

    [Fact]
    public async Task Given_a_viewer_When_exporting_the_history_Then_the_cli_says_it_is_forbidden_and_writes_nothing()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("emo-history-").FullName, "history.ndjson");

        var refused = await cp.As("vera", Roles.Viewer).RunAsync("events", "export", "--out", file);

        refused.ExitCode.ShouldBe(2, refused.ToString());
        refused.Err.ShouldStartWith("error: Forbidden: ");
        File.Exists(file).ShouldBeFalse();
    }

    private static async Task<EmoResult> RunAsync(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var code = await EmoCli.RunAsync(args, output, error, Ct);
        return new EmoResult(code, output.ToString(), error.ToString());
    }
}
