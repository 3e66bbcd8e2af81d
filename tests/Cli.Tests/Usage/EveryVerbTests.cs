using System.CommandLine;

namespace EventMlOps.Cli.Tests.Usage;

/// <summary>Every verb, run in a home nothing was ever started from against a control plane that is not running (a port
/// nothing listens on), ends in a message of its own and a documented exit code (0, 1 or 2) — never in an unhandled
/// exception or a stack trace. <c>up</c> and <c>demo</c> are left out: there they start a control plane, as they should.</summary>
public sealed class EveryVerbTests
{
    private static readonly string[] Starters = ["up", "demo"];

    public static TheoryData<string> Verbs()
    {
        var data = new TheoryData<string>();
        foreach (var line in Leaves(EmoCli.Build(), []).Where(l => !Starters.Contains(l[0])))
            data.Add(string.Join(' ', line));
        return data;
    }

    /// <summary>Each leaf command with a value for its arguments and required options, by kind.</summary>
    private static IEnumerable<string[]> Leaves(Command command, string[] path)
    {
        if (command.Subcommands.Count > 0 && command.Action is null)
            return command.Subcommands.SelectMany(c => Leaves(c, [.. path, c.Name]));
        return [[.. path, .. command.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0).Select(a => Value(a.ValueType)),
            .. command.Options.Where(o => o.Required).SelectMany(o => new[] { o.Name, Value(o.ValueType) })]];
    }

    private static string Value(Type type) =>
        (Nullable.GetUnderlyingType(type) ?? type) switch
        {
            var t when t == typeof(Guid) => "3f2b9c1e-0000-4000-8000-000000000001",
            var t when t == typeof(int) || t == typeof(long) || t == typeof(double) => "1",
            var t when t == typeof(FileInfo) || t == typeof(DirectoryInfo) => "/nonexistent/emo-every-verb",
            var t when t == typeof(DateTimeOffset) => "2026-01-01T00:00:00Z",
            _ => "x",
        };

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Given_a_fresh_home_and_no_control_plane_When_a_verb_runs_Then_it_ends_in_its_own_message_and_a_documented_exit_code(string line)
    {
        var home = Path.Combine(Path.GetTempPath(), "emo-every-verb-" + Guid.NewGuid().ToString("N"));
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            var exit = await EmoCli.RunAsync([.. line.Split(' '), "--home", home, "--url", "http://127.0.0.1:9", "--token", "not-a-token"], stdout, stderr, timeout.Token);

            exit.ShouldBeOneOf([0, 1, 2], $"{stderr}{stdout}");
            var said = (stderr + stdout.ToString()).Trim();
            said.ShouldNotBeEmpty("it says what happened");
            said.ShouldNotContain("   at ", Case.Sensitive, "no stack trace");
            said.ShouldNotContain("Exception", Case.Sensitive, "no .NET exception names");
            // One line on what went wrong (a parse error adds where the help is).
            if (exit != 0) stderr.ToString().TrimEnd().Split('\n').Count(l => !l.StartsWith("see 'emo", StringComparison.Ordinal)).ShouldBe(1, stderr.ToString());
        }
        finally
        {
            if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
        }
    }
}
