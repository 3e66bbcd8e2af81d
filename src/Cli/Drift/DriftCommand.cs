using System.CommandLine;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Drift;

/// <summary><c>emo drift &lt;endpoint&gt; [--as-of] [--limit] [--json]</c>: each feature's score over the recent windows as a
/// sparkline (with the policy's threshold and how often it drifted), the windows' verdicts, and the alarms.</summary>
public static class DriftCommand
{
    public static Command Create()
    {
        var endpoint = new Argument<string>("endpoint") { Description = "The endpoint's name" };
        var limit = new Option<int?>("--limit") { Description = "How many recent windows (and alarms) to show (default 50, at most 1000)" };
        var asOf = AsOfOption.Create();
        var command = new Command("drift", "An endpoint's drift: per-feature scores over its recent windows, their verdicts and the alarms") { endpoint, limit, asOf };
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var path = ApiClient.Path($"/api/endpoints/{ApiClient.Segment(parse.GetValue(endpoint)!)}/drift",
                ("limit", parse.GetValue(limit)?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("asOf", parse.GetValue(asOf)));
            return ctx.ShowAsync<EndpointDrift>(path, d => Write(ctx.Out, d), ct);
        });
        return command;
    }

    public static void Write(TextWriter w, EndpointDrift d)
    {
        w.WriteLine($"drift of endpoint {d.Endpoint}  model {d.ModelName}{(d.AsOf is { } a ? $" as of {a}" : "")}: {d.Windows.Count} windows, {d.Alarms.Count} alarms");
        if (d.Windows.Count == 0)
        {
            w.WriteLine("  no window measured");
            return;
        }
        // A p-value drifts low, a distance high: each line reads lowest to highest score, the threshold beside it.
        w.WriteLine($"  features over {Fmt.Time(d.Windows[0].WindowStart)} → {Fmt.Time(d.Windows[^1].WindowEnd)}");
        var features = new Table("VERSION", "FEATURE", "ROLE", "METHOD", "SCORES", "LAST", "THRESHOLD", "DRIFTED");
        foreach (var series in d.Windows.SelectMany(x => x.Features.Select(f => (x.Version, f))).GroupBy(x => (x.Version, x.f.Feature)))
        {
            var scores = series.Select(x => x.f).ToList();
            var last = scores[^1];
            features.Row($"v{series.Key.Version}", last.Feature, last.Role.ToString().ToLowerInvariant(), last.Method, Fmt.Sparkline([.. scores.Select(f => f.Score)]),
                Fmt.Number(last.Score), (DriftTest.IsPValue(last.Method) ? "< " : "≥ ") + Fmt.Number(last.Threshold), $"{scores.Count(f => f.Drifted)}/{scores.Count}");
        }
        features.WriteTo(w, indent: "    ");
        w.WriteLine("  windows");
        var windows = new Table("VERSION", "FROM", "TO", "SAMPLES", "VERDICT", "DRIFTING");
        foreach (var x in d.Windows)
            windows.Row($"v{x.Version}", Fmt.Time(x.WindowStart), Fmt.Time(x.WindowEnd), x.Samples, x.Drifted ? "drifted" : "clean",
                string.Join(", ", x.Features.Where(f => f.Drifted).Select(f => f.Feature)) is { Length: > 0 } names ? names : "-");
        windows.WriteTo(w, indent: "    ");
        w.WriteLine("  alarms");
        var alarms = new Table("ALARM", "VERSION", "RAISED", "WINDOWS", "FEATURES", "CLEARED");
        foreach (var x in d.Alarms)
            alarms.Row(x.AlarmId.ToString("N")[..12], $"v{x.Version}", Fmt.Time(x.DetectedAt),
                $"{x.Windows} from {Fmt.Time(x.FirstWindowStart)} to {Fmt.Time(x.WindowEnd)}", Features(x.Features),
                x.ClearedAt is { } at ? $"{Fmt.Time(at)} ({x.ClearReason})" : "open");
        alarms.WriteTo(w, "none", indent: "    ");
    }

    public static string Features(IEnumerable<FeatureVerdict> features) =>
        string.Join(", ", features.Select(f => $"{f.Feature} {Fmt.Number(f.Score)}")) is { Length: > 0 } text ? text : "-";
}
