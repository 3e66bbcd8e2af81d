using System.Text.RegularExpressions;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests;

/// <summary>The CLI reads the control plane's answers as contract views only, so an aggregate of the control plane can
/// change without breaking it. As the local launcher it still hosts the control plane (<c>emo up</c>) and issues tokens
/// (<c>emo token</c>): those namespaces are the only ones of the control plane it imports.</summary>
public sealed class ApiBoundaryTests
{
    private static readonly string[] LauncherNamespaces = ["EventMlOps.ControlPlane", "EventMlOps.ControlPlane.Auth"];

    private static readonly string Cli = Path.Combine(TestHost.RepoRoot(), "src", "Cli");

    private static IEnumerable<(string File, string Text)> Sources() =>
        Directory.EnumerateFiles(Cli, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Cli, f))
            .Where(f => !f.StartsWith("bin/", StringComparison.Ordinal) && !f.StartsWith("obj/", StringComparison.Ordinal))
            .Select(f => (f, File.ReadAllText(Path.Combine(Cli, f))));

    [Fact]
    public void Given_the_cli_sources_When_their_usings_are_read_Then_of_the_control_plane_only_the_launchers_namespaces_appear() =>
        Sources().SelectMany(s => Regex.Matches(s.Text, @"^using (?:static )?(EventMlOps\.ControlPlane[\w.]*);", RegexOptions.Multiline)
                .Select(m => m.Groups[1].Value).Where(ns => !LauncherNamespaces.Contains(ns)).Select(ns => $"{s.File}: {ns}"))
            .ShouldBeEmpty();

    [Fact]
    public void Given_the_cli_sources_When_they_read_answers_Then_every_type_read_is_a_contract()
    {
        var contracts = typeof(ICommand).Assembly.GetTypes().SelectMany(t => new[] { t.Name, t.FullName }).ToHashSet();
        var read = Sources().SelectMany(s => Regex.Matches(s.Text, @"\b(?:GetAsync|ShowAsync|Deserialize)<(?:List<)?([\w.]+)")
                .Select(m => (s.File, Type: m.Groups[1].Value)))
            .Where(r => !Regex.IsMatch(r.Type, "^T(?:[A-Z]\\w*)?$")) // the generic helpers' own type parameters
            .ToList();

        read.Select(r => r.Type).ShouldContain("EndpointView", "the scan finds what the verbs read");
        read.Where(r => !contracts.Contains(r.Type)).Select(r => $"{r.File}: {r.Type}").ShouldBeEmpty();
    }
}
