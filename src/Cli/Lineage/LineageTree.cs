using EventMlOps.Cli.Endpoints;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Lineage;

/// <summary>Lineage as an indented tree read top-down the way it happened: dataset → run → version → endpoints,
/// with who did what and when at each level.</summary>
public static class LineageTree
{
    private const string Branch = "└── ", Pipe = "│   ", Space = "    ";

    public static void Write(TextWriter w, ModelLineage l, string indent = "")
    {
        var d = l.Dataset;
        if (d is null)
            w.WriteLine($"{indent}dataset (not registered as of then)");
        else
        {
            w.WriteLine($"{indent}dataset {d.Name}  sha256 {d.Sha256}");
            w.WriteLine($"{indent}{Pipe}{d.Format}, {d.RowCount} rows, {d.Uri}");
            w.WriteLine($"{indent}{Pipe}registered {Fmt.Time(d.RegisteredAt)} by {d.RegisteredBy}  (id {d.DatasetId})");
        }

        var runIndent = indent + Space;
        if (l.Run is { } r)
        {
            w.WriteLine($"{indent}{Branch}run {r.RunId}  {r.TrainerKind}  {r.Status}{(r.DurationSeconds is { } s ? $" in {Fmt.Seconds(s)}" : "")}");
            if (r.TrainerKind == "mlflow") // a person's script logged it: no trainer, code or hyperparameters were given to anything
                w.WriteLine($"{runIndent}{Pipe}started {Fmt.Time(r.RequestedAt)} by {r.RequestedBy} from an MLflow client (./emo runs show {r.RunId})");
            else
            {
                w.WriteLine($"{runIndent}{Pipe}requested {Fmt.Time(r.RequestedAt)} by {r.RequestedBy}, code {r.CodeVersion}");
                w.WriteLine($"{runIndent}{Pipe}params  {Fmt.Params(r.Hyperparameters, r.Options)}");
            }
            w.WriteLine($"{runIndent}{Pipe}metrics {Fmt.Headline(r.Metrics)}");
            if (r.ReproducedFrom is { } original) w.WriteLine($"{runIndent}{Pipe}reproduces run {original}");
            foreach (var copy in r.Reproductions ?? []) w.WriteLine($"{runIndent}{Pipe}reproduced by run {copy}");
        }
        else
            w.WriteLine($"{indent}{Branch}run (unknown as of then)");

        var versionIndent = runIndent + Space;
        w.WriteLine($"{runIndent}{Branch}version {l.Model}@{l.Version}  {l.Stage}{(l.Aliases.Count == 0 ? "" : "  aliases " + string.Join(",", l.Aliases))}");
        w.WriteLine($"{versionIndent}{Pipe}artifact {l.ArtifactUri}  sha256 {l.ArtifactSha256}");
        w.WriteLine($"{versionIndent}{Pipe}registered {Fmt.Time(l.RegisteredAt)} by {l.RegisteredBy}");
        foreach (var a in l.Approvals)
            w.WriteLine($"{versionIndent}{Pipe}approved {Fmt.Time(a.At)} by {a.By}{(a.Comment is { Length: > 0 } c ? $": \"{c}\"" : "")}");
        if (l.Approvals.Count == 0)
            w.WriteLine($"{versionIndent}{Pipe}approved by nobody yet");
        foreach (var s in l.StageHistory)
            w.WriteLine($"{versionIndent}{Pipe}stage {s.From} → {s.To} {Fmt.Time(s.At)} by {s.By}");
        foreach (var a in l.AliasHistory)
            w.WriteLine($"{versionIndent}{Pipe}alias '{a.Alias}' {(a.Set ? "set" : "removed")} {Fmt.Time(a.At)} by {a.By}");

        var endpointsIndent = versionIndent + Space;
        w.WriteLine($"{versionIndent}{Branch}endpoints{(l.Endpoints.Count == 0 ? ": never served" : "")}");
        for (var i = 0; i < l.Endpoints.Count; i++)
        {
            var e = l.Endpoints[i];
            var when = e.To is { } to ? $"{Fmt.Time(e.From)} → {Fmt.Time(to)}" : $"since {Fmt.Time(e.From)}{(e.Weight is { } wt ? $", {wt}% of traffic" : "")}";
            w.WriteLine($"{endpointsIndent}{(i == l.Endpoints.Count - 1 ? Branch : "├── ")}{e.Endpoint}  {when}");
        }
    }

    public static void Write(TextWriter w, EndpointLineage l)
    {
        w.WriteLine($"endpoint {l.Endpoint}  model {l.Model}  revision {l.Revision}{(l.AsOf is { } at ? $"  (as of {at})" : "")}");
        w.WriteLine($"traffic  {EndpointsCommand.Traffic(l.Traffic)}");
        if (l.Rollout is { } r)
            w.WriteLine($"rollout  {r.Kind} of v{r.Version} in progress (step {r.Step + 1}/{Math.Max(1, r.Steps.Count)}), started {Fmt.Time(r.StartedAt)} by {r.StartedBy}");
        foreach (var v in l.Serving)
        {
            w.WriteLine();
            var weight = l.Traffic.FirstOrDefault(t => t.Version == v.Version)?.Weight;
            w.WriteLine($"serving {v.Model}@{v.Version}{(weight is { } p ? $" ({p}%)" : "")}:");
            Write(w, v, "  ");
        }
    }
}
