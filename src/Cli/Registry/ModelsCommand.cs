using System.CommandLine;
using System.Globalization;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Registry;

/// <summary><c>emo models list|show|policy</c>: the registry (models, versions, stages, aliases), now or as of a point in history;
/// a model's drift and retraining policy with its retraining loops.</summary>
public static class ModelsCommand
{
    public static Command Create() => new("models", "The model registry") { List(), Show(), Policy() };

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
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var text = parse.GetValue(name)!;
            var at = ("asOf", (object?)parse.GetValue(asOf));
            if (text.Contains('@'))
            {
                var r = await ModelRef.ResolveAsync(ctx.Api, text, ct);
                return await ctx.ShowAsync<ModelVersionView>(ApiClient.Path($"/api/models/{ApiClient.Segment(r.Model)}/versions/{r.Version}", at), v => RenderVersion(ctx.Out, v), ct);
            }
            return await ctx.ShowAsync<RegisteredModel>(ApiClient.Path($"/api/models/{ApiClient.Segment(text)}", at), m =>
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

    /// <summary>Shows the model's policy, or — with any option — sets it: the options given replace those values of the current
    /// policy, the rest stays; should the policy change between the read and the write, the write is refused (a conflict).</summary>
    private static Command Policy()
    {
        var name = new Argument<string>("model") { Description = "Model name" };
        var retrain = new Option<bool>("--retrain-on-drift") { Description = "A drift alarm retrains the model on the latest version of --dataset" };
        var noRetrain = new Option<bool>("--no-retrain") { Description = "A drift alarm retrains nothing" };
        var dataset = new Option<string?>("--dataset") { Description = "Registered dataset name to retrain on (its latest version)" };
        var rollout = new Option<string?>("--rollout") { Description = "After the retrained version's approval: canary, immediate or none (an operator rolls out)" };
        var steps = new Option<string?>("--steps") { Description = "Canary steps weight:bakeSeconds, rising, e.g. 10:60,50:60 (the default)" };
        var share = new Option<double?>("--drift-share") { Description = "Share of input features that must drift for a window to drift, in (0, 1]" };
        var samples = new Option<int?>("--window-samples") { Description = "A window closes at this many samples (10..100000)" };
        var seconds = new Option<int?>("--window-seconds") { Description = "… or after this many seconds (5..86400)" };
        var detect = new Option<int?>("--detect-after") { Description = "Drifting windows in a row that raise an alarm (1..100)" };
        var clear = new Option<int?>("--clear-after") { Description = "Clean windows in a row that clear it (1..100)" };
        var tests = new Option<string[]>("--test")
        {
            Description = "A feature's test feature=method:threshold (repeatable; replaces the explicit tests), method ks, chi2, wasserstein, js or psi",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("policy", "Show or set a model's drift policy and what a drift alarm does (retraining, then a rollout once approved)")
        {
            name, retrain, noRetrain, dataset, rollout, steps, share, samples, seconds, detect, clear, tests,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var model = parse.GetValue(name)!;
            var path = $"/api/models/{ApiClient.Segment(model)}/policy";
            Option[] setters = [retrain, noRetrain, dataset, rollout, steps, share, samples, seconds, detect, clear, tests];
            if (!setters.Any(o => parse.GetResult(o) is { Implicit: false }))
                return await ctx.ShowAsync<ModelPolicyView>(path, p => RenderPolicy(ctx.Out, p), ct);

            var current = await ctx.Api.GetAsync<ModelPolicyView>(path, ct);
            var given = parse.GetValue(tests) ?? [];
            var drift = current.Drift with
            {
                DriftShare = parse.GetValue(share) ?? current.Drift.DriftShare,
                WindowSamples = parse.GetValue(samples) ?? current.Drift.WindowSamples,
                WindowSeconds = parse.GetValue(seconds) ?? current.Drift.WindowSeconds,
                DetectAfter = parse.GetValue(detect) ?? current.Drift.DetectAfter,
                ClearAfter = parse.GetValue(clear) ?? current.Drift.ClearAfter,
                Features = given.Length == 0 ? current.Drift.Features : FeatureTests(given),
            };
            var retraining = Retraining(current.Retraining, parse.GetValue(retrain), parse.GetValue(noRetrain), parse.GetValue(dataset),
                parse.GetValue(rollout), parse.GetValue(steps));
            var accepted = await ctx.Api.SendAsync("/api/models/policy", new SetModelPolicy(Guid.NewGuid(), model, drift, retraining, current.StreamVersion), ct);
            return ctx.Report(accepted, $"policy of {model} set: {(retraining is null ? "no retraining on drift" : $"retrains on '{retraining.Dataset}', {Rollout(retraining.Rollout)}")}");
        });
        return command;
    }

    private static RetrainingPolicy? Retraining(RetrainingPolicy? current, bool retrain, bool noRetrain, string? dataset, string? rollout, string? steps)
    {
        var changes = dataset is not null || rollout is not null || steps is not null;
        if (noRetrain)
            return retrain || changes ? throw CliError.Usage("--no-retrain takes no --retrain-on-drift, --dataset, --rollout or --steps") : null;
        if (!retrain && !changes)
            return current;
        if (!retrain && current is null)
            throw CliError.Usage("--dataset, --rollout and --steps describe retraining: add --retrain-on-drift");
        var data = dataset ?? current?.Dataset ?? throw CliError.Usage("--retrain-on-drift needs --dataset <registered dataset name>");
        var strategy = (rollout ?? (steps is null ? null : "canary"))?.ToLowerInvariant() switch
        {
            null => current?.Rollout,
            "none" when steps is null => null,
            "immediate" when steps is null => RolloutStrategy.Immediate,
            "canary" => new RolloutStrategy(RolloutKind.Canary, Steps(steps ?? "10:60,50:60")),
            _ => throw CliError.Usage(steps is null ? "--rollout must be canary, immediate or none" : "--steps describe a canary: use --rollout canary"),
        };
        return new RetrainingPolicy(data, strategy);
    }

    private static IReadOnlyList<CanaryStep> Steps(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(step =>
            step.Split(':') is [var w, var b] && int.TryParse(w.TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out var weight)
                                               && int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var bake)
                ? new CanaryStep(weight, bake)
                : throw CliError.Usage($"--steps: {Shown(step)} is not weight:bakeSeconds (e.g. 10:60)"))];

    private static readonly Dictionary<string, DriftMethod> Methods = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ks"] = DriftMethod.KolmogorovSmirnov, ["chi2"] = DriftMethod.ChiSquared, ["wasserstein"] = DriftMethod.Wasserstein,
        ["js"] = DriftMethod.JensenShannon, ["psi"] = DriftMethod.Psi,
    };

    private static Dictionary<string, DriftTest> FeatureTests(string[] given)
    {
        var tests = new Dictionary<string, DriftTest>(StringComparer.Ordinal);
        foreach (var (feature, test) in given.Select(FeatureTest))
            if (!tests.TryAdd(feature, test))
                throw CliError.Usage($"--test: {Shown(feature)} is tested twice");
        return tests;
    }

    private static (string Feature, DriftTest Test) FeatureTest(string text)
    {
        var eq = text.LastIndexOf('=');
        var colon = text.LastIndexOf(':');
        if (eq <= 0 || colon < eq || !Methods.TryGetValue(text[(eq + 1)..colon], out var method)
            || !double.TryParse(text[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold))
            throw CliError.Usage($"--test: {Shown(text)} is not feature=method:threshold with method {string.Join(", ", Methods.Keys)}");
        return (text[..eq], new DriftTest(method, threshold));
    }

    private static string Shown(string text) => text.Length <= 64 ? $"'{text}'" : $"a value of {text.Length} characters";

    private static void RenderPolicy(TextWriter w, ModelPolicyView p)
    {
        var d = p.Drift;
        w.WriteLine($"model {p.ModelName}  " + (p.SetBy is null ? "no policy set: the defaults" : $"policy set {Fmt.Time(p.SetAt)} by {p.SetBy}"));
        w.WriteLine($"  drift       a window ({d.WindowSamples} samples or {d.WindowSeconds} s) drifts when ≥ {Fmt.Number(d.DriftShare)} of the input features do;"
                    + $" alarm after {d.DetectAfter} in a row, cleared after {d.ClearAfter} clean");
        foreach (var (feature, test) in d.Features ?? new Dictionary<string, DriftTest>())
            w.WriteLine($"  test        {feature}: {Methods.First(m => m.Value == test.Method).Key} {(DriftTest.IsPValue(test.Method) ? "p <" : "≥")} {Fmt.Number(test.Threshold)}");
        w.WriteLine(p.Retraining is { } r
            ? $"  retraining  on drift: a run on the latest '{r.Dataset}', then after a four-eyes approval {Rollout(r.Rollout)}"
            : "  retraining  none on drift");
        if (p.Loops.Count == 0) return;
        var table = new Table("ALARM", "ENDPOINT", "DRIFTING", "AT", "STATE", "RUN", "VERSION", "DETAIL");
        foreach (var l in p.Loops)
            table.Row(l.AlarmId.ToString("N")[..12], l.Endpoint, l.DriftingVersion, Fmt.Time(l.At), l.State, l.RunId?.ToString("N")[..12] ?? "-",
                l.Version?.ToString(CultureInfo.InvariantCulture) ?? "-", l.Detail ?? "-");
        table.WriteTo(w);
    }

    private static string Rollout(RolloutStrategy? s) => s switch
    {
        null => "no rollout (an operator rolls out)",
        { Kind: RolloutKind.Immediate } => "an immediate rollout",
        _ => "a canary " + string.Join(" → ", s.Steps.Select(x => $"{x.Weight}% {x.BakeSeconds} s")),
    };

    private static string Versions(RegisteredModel m, string stage) =>
        m.Versions.Where(v => v.Stage.ToString() == stage).Select(v => v.Version.ToString()).DefaultIfEmpty("-").Aggregate((a, b) => $"{a},{b}");
}
