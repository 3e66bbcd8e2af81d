using System.CommandLine;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Registry;

/// <summary><c>emo models list|show</c>: the registry (models, versions, stages, aliases), now or as of a point in history.</summary>
public static class ModelsCommand
{
    public static Command Create() => new("models", "The model registry") { List(), Show() };

    private static Command List()
    {
        var asOf = AsOfOption.Create();
        var command = new Command("list", "List registered models") { asOf };
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            return ctx.ShowAsync<List<RegisteredModel>>(ApiClient.Path("/api/models", ("asOf", parse.GetValue(asOf))), models =>
            {
                var table = new Table("MODEL", "LATEST", "VERSIONS", "PRODUCTION", "STAGING", "ALIASES");
                foreach (var m in models)
                    table.Row(m.Name, m.LatestVersion, m.Versions.Count, Versions(m, "Production"), Versions(m, "Staging"),
                        m.Aliases.Count == 0 ? "-" : string.Join(" ", m.Aliases.OrderBy(a => a.Key).Select(a => $"{a.Key}→{a.Value}")));
                table.WriteTo(ctx.Out, "no models registered yet");
            }, ct);
        });
        return command;
    }

    private static Command Show()
    {
        var name = new Argument<string>("model") { Description = "Model name, or <model>@<version> for one version's details" };
        var asOf = AsOfOption.Create();
        var command = new Command("show", "Show a model's versions (or one version)") { name, asOf };
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var text = parse.GetValue(name)!;
            var at = ("asOf", (object?)parse.GetValue(asOf));
            if (text.Contains('@'))
            {
                var r = ModelRef.Parse(text);
                return ctx.ShowAsync<ModelVersionView>(ApiClient.Path($"/api/models/{ApiClient.Segment(r.Model)}/versions/{r.Version}", at), v => RenderVersion(ctx.Out, v), ct);
            }
            return ctx.ShowAsync<RegisteredModel>(ApiClient.Path($"/api/models/{ApiClient.Segment(text)}", at), m =>
            {
                ctx.Out.WriteLine($"model {m.Name}  latest version {m.LatestVersion}{(m.AsOf is { } a ? $"  (as of {a})" : "")}");
                var table = new Table("VERSION", "STAGE", "ALIASES", "APPROVED", "METRICS", "REGISTERED", "BY");
                foreach (var v in m.Versions)
                    table.Row(v.Version, v.Stage, v.Aliases.Count == 0 ? "-" : string.Join(",", v.Aliases), v.Approved ? "yes" : "no",
                        Fmt.Headline(v.Metrics), Fmt.Time(v.RegisteredAt), v.RegisteredBy);
                table.WriteTo(ctx.Out);
            }, ct);
        });
        return command;
    }

    private static void RenderVersion(TextWriter w, ModelVersionView v)
    {
        w.WriteLine($"{v.ModelName}@{v.Version}  {v.Stage}{(v.Aliases.Count == 0 ? "" : "  aliases " + string.Join(",", v.Aliases))}");
        w.WriteLine($"  artifact    {v.ArtifactUri}");
        w.WriteLine($"  sha256      {v.ArtifactSha256}");
        w.WriteLine($"  run         {v.RunId}  dataset {v.DatasetId} (sha256 {v.DatasetSha256})");
        w.WriteLine($"  metrics     {Fmt.Numbers(v.Metrics)}");
        w.WriteLine($"  registered  {Fmt.Time(v.RegisteredAt)} by {v.RegisteredBy}");
        foreach (var a in v.Approvals) w.WriteLine($"  approved    {Fmt.Time(a.At)} by {a.By}{(a.Comment is { Length: > 0 } c ? $": \"{c}\"" : "")}");
        foreach (var s in v.StageHistory) w.WriteLine($"  stage       {Fmt.Time(s.At)} {s.From} → {s.To} by {s.By}");
        foreach (var a in v.AliasHistory) w.WriteLine($"  alias       {Fmt.Time(a.At)} {(a.Set ? "set" : "removed")} '{a.Alias}' by {a.By}");
    }

    private static string Versions(RegisteredModel m, string stage) =>
        m.Versions.Where(v => v.Stage.ToString() == stage).Select(v => v.Version.ToString()).DefaultIfEmpty("-").Aggregate((a, b) => $"{a},{b}");
}
