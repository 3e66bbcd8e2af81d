using System.CommandLine;
using System.Globalization;
using EventMlOps.Cli.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using static EventMlOps.Contracts.Endpoints.VerdictFormat;

namespace EventMlOps.Cli.Endpoints;

/// <summary><c>emo endpoints create|rollout|promote|abort|rollback|delete|show|list</c>.</summary>
public static class EndpointsCommand
{
    public static Command Create() => new("endpoints", "Serving endpoints and their rollouts")
    {
        CreateEndpoint(), RollOut(), Promote(), Control("abort", "Abort the rollout in progress (the stable version takes all traffic back)"),
        Control("rollback", "Return the endpoint to the version that served before the current one"), Delete(), Show(), List(),
    };

    public static Task<CommandAccepted> CreateAsync(ApiClient api, string name, string model, int min, int max, CancellationToken ct) =>
        api.SendAsync("/api/endpoints", new CreateEndpoint(Guid.NewGuid(), name, model, min, max), ct);

    /// <summary>Immediate when <paramref name="canary"/> is empty; otherwise a canary through those weights, each baked for
    /// <paramref name="bakeSeconds"/> and judged under <paramref name="analysis"/> (the control plane's defaults when null).</summary>
    public static Task<CommandAccepted> RollOutAsync(ApiClient api, string endpoint, int version, IReadOnlyList<int> canary, int bakeSeconds,
        long? expectedVersion, CancellationToken ct, RolloutAnalysis? analysis = null)
    {
        var strategy = canary.Count == 0
            ? RolloutStrategy.Immediate
            : new RolloutStrategy(RolloutKind.Canary, [.. canary.Select(w => new CanaryStep(w, bakeSeconds))], analysis);
        return api.SendAsync("/api/endpoints/rollout", new RollOut(Guid.NewGuid(), endpoint, version, strategy, expectedVersion), ct);
    }

    /// <summary>An immediate rollout is promoted once a replica reports the version loaded: waits for that (or for its
    /// failure, which is an error naming the reason), up to two minutes.</summary>
    public static async Task ServedAsync(ApiClient api, string endpoint, Guid rolloutId, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var state = await api.GetAsync<EndpointView>($"/api/endpoints/{Uri.EscapeDataString(endpoint)}", ct);
            if (state.Rollouts.FirstOrDefault(r => r.RolloutId == rolloutId) is { } outcome)
            {
                if (outcome.Outcome == "promoted") return;
                throw new CliError($"the rollout {outcome.Outcome}: {outcome.Reason}", 2);
            }
            if (clock.Elapsed > TimeSpan.FromMinutes(2))
                throw new CliError($"no replica of '{endpoint}' reported serving the version within 2 minutes; the rollout stays in progress "
                    + $"(is the rollout agent running? ./emo endpoints show {endpoint})");
            await Task.Delay(250, ct);
        }
    }

    public static Task<CommandAccepted> PromoteAsync(ApiClient api, string endpoint, CancellationToken ct) =>
        api.SendAsync("/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), endpoint), ct);

    public static string Traffic(IReadOnlyList<TrafficSplit> traffic) =>
        traffic.Count == 0 ? "nothing served" : string.Join(" / ", traffic.Select(t => $"v{t.Version} {t.Weight}%"));

    private static Command CreateEndpoint()
    {
        var name = NameArgument();
        var model = new Option<string>("--model") { Description = "The model whose versions it serves", Required = true };
        var min = new Option<int>("--min") { Description = "Minimum replicas", DefaultValueFactory = _ => 1 };
        var max = new Option<int>("--max") { Description = "Maximum replicas", DefaultValueFactory = _ => 3 };
        var command = new Command("create", "Create an endpoint for a model") { name, model, min, max };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var accepted = await CreateAsync(ctx.Api, parse.GetValue(name)!, parse.GetValue(model)!, parse.GetValue(min), parse.GetValue(max), ct);
            return ctx.Report(accepted, $"created endpoint {parse.GetValue(name)} for model {parse.GetValue(model)}");
        });
        return command;
    }

    private static Command RollOut()
    {
        var name = NameArgument();
        var version = new Option<string>("--version") { Description = "Model version to roll out: a number, an alias of the endpoint's model (e.g. champion) or latest", Required = true };
        var canary = new Option<string?>("--canary") { Description = "Canary weights in percent, rising, e.g. 10,50 (default: immediate)" };
        var bake = new Option<int>("--bake") { Description = "Seconds each canary step bakes", DefaultValueFactory = _ => 30 };
        var expected = new Option<long?>("--expected-version") { Description = "Endpoint stream version you last saw (optimistic concurrency)" };
        var noWait = new Option<bool>("--no-wait") { Description = "Immediate: return at once instead of waiting until a replica serves the version (or refuses it)" };
        var analysis = new AnalysisOptions();
        var command = new Command("rollout", "Roll a version out, immediately or as a canary that the control plane advances step by step or rolls back")
        {
            name, version, canary, bake, expected, noWait,
        };
        foreach (var option in analysis.All) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var weights = Weights(parse.GetValue(canary));
            var endpoint = parse.GetValue(name)!;
            var text = parse.GetValue(version)!;
            var chosen = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
                : (await Registry.ModelRef.ResolveAsync(ctx.Api, $"{(await ctx.Api.GetAsync<EndpointView>($"/api/endpoints/{Uri.EscapeDataString(endpoint)}", ct)).ModelName}@{text}", ct)).Version;
            var accepted = await RollOutAsync(ctx.Api, endpoint, chosen, weights, parse.GetValue(bake), parse.GetValue(expected), ct,
                analysis.Read(parse, canary: weights.Count > 0));
            if (weights.Count == 0 && !parse.GetValue(noWait) && accepted is { Duplicate: false, Appended: > 0 })
                await ServedAsync(ctx.Api, parse.GetValue(name)!, accepted.CommandId, ct);
            return ctx.Report(accepted, weights.Count == 0
                ? $"rolled version {chosen} out to {endpoint}"
                : $"started a canary of version {chosen} on {endpoint}: {string.Join(" → ", weights.Select(w => $"{w}%"))}");
        });
        return command;
    }

    /// <summary>A canary's analysis limits; each one given overrides that default of <see cref="RolloutAnalysis"/>.</summary>
    private sealed class AnalysisOptions
    {
        private static readonly RolloutAnalysis Defaults = RolloutAnalysis.Default;

        private readonly Option<int?> _interval = new("--interval")
            { Description = $"Canary: seconds between the agent's measurements (default {Defaults.IntervalSeconds})" };
        private readonly Option<int?> _minRequests = new("--min-requests")
            { Description = $"Canary: requests a step needs before any verdict (default {Defaults.MinRequests})" };
        private readonly Option<double?> _maxErrorRate = new("--max-error-rate")
            { Description = $"Canary: highest 5xx error rate, 0..1, before it is rolled back (default {Number(Defaults.MaxErrorRate)})" };
        private readonly Option<double?> _maxP95Ms = new("--max-p95-ms")
            { Description = "Canary: highest p95 latency in ms (default: no absolute limit)" };
        private readonly Option<int?> _progressDeadline = new("--progress-deadline")
        {
            Description = $"Canary: measurements in a row without enough requests before it is rolled back as stalled; 0 waits forever (default {Defaults.ProgressDeadline})",
        };
        private readonly Option<double?> _maxP95Ratio = new("--max-p95-ratio")
        {
            Description = $"Canary: highest p95 as a multiple of the stable version's, taken as at least {Number(RolloutAnalysis.P95FloorMs)} ms "
                          + $"(default {Number(Defaults.MaxP95Ratio)})",
        };

        public Option[] All => [_interval, _minRequests, _maxErrorRate, _maxP95Ms, _maxP95Ratio, _progressDeadline];

        /// <summary>Null when none is given: the control plane's defaults apply.</summary>
        public RolloutAnalysis? Read(ParseResult parse, bool canary)
        {
            if (All.All(o => parse.GetResult(o) is null)) return null;
            if (!canary) throw CliError.Usage("--interval, --min-requests, --max-error-rate, --max-p95-ms, --max-p95-ratio and --progress-deadline judge a canary: add --canary");
            return new RolloutAnalysis(parse.GetValue(_interval) ?? Defaults.IntervalSeconds, parse.GetValue(_minRequests) ?? Defaults.MinRequests,
                parse.GetValue(_maxErrorRate) ?? Defaults.MaxErrorRate, parse.GetValue(_maxP95Ms), parse.GetValue(_maxP95Ratio) ?? Defaults.MaxP95Ratio,
                parse.GetValue(_progressDeadline) ?? Defaults.ProgressDeadline);
        }
    }

    private static Command Promote()
    {
        var name = NameArgument();
        var command = new Command("promote", "Promote the canary in progress to all traffic") { name };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            return ctx.Report(await PromoteAsync(ctx.Api, parse.GetValue(name)!, ct), $"promoted the rollout on {parse.GetValue(name)}");
        });
        return command;
    }

    private static Command Control(string verb, string description)
    {
        var name = NameArgument();
        var reason = new Option<string>("--reason") { Description = "Why (recorded on the event)", DefaultValueFactory = _ => $"{verb} requested from the CLI" };
        var command = new Command(verb, description) { name, reason };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var endpoint = parse.GetValue(name)!;
            var why = parse.GetValue(reason)!;
            var accepted = verb == "abort"
                ? await ctx.Api.SendAsync("/api/endpoints/abort", new AbortRollout(Guid.NewGuid(), endpoint, why), ct)
                : await ctx.Api.SendAsync("/api/endpoints/rollback", new Rollback(Guid.NewGuid(), endpoint, why), ct);
            return ctx.Report(accepted, $"{(verb == "abort" ? "aborted the rollout on" : "rolled back")} {endpoint}");
        });
        return command;
    }

    private static Command Delete()
    {
        var name = NameArgument();
        var reason = new Option<string>("--reason") { Description = "Why (recorded on the event)", Required = true };
        var command = new Command("delete", "Delete an endpoint: its serving processes stop; its history stays, and the name may be created again")
        {
            name, reason,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var endpoint = parse.GetValue(name)!;
            var accepted = await ctx.Api.SendAsync("/api/endpoints/delete", new DeleteEndpoint(Guid.NewGuid(), endpoint, parse.GetValue(reason)!), ct);
            return ctx.Report(accepted, $"deleted endpoint {endpoint}");
        });
        return command;
    }

    private static Command Show()
    {
        var name = NameArgument();
        var asOf = AsOfOption.Create();
        var watch = new Option<bool>("--watch", "-w") { Description = "Redraw every second while a rollout is in progress (Ctrl+C stops watching; the rollout goes on)" };
        var command = new Command("show", "Show an endpoint: traffic, rollout in progress and its analysis, replicas, serving history") { name, asOf, watch };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var path = ApiClient.Path($"/api/endpoints/{ApiClient.Segment(parse.GetValue(name)!)}", ("asOf", parse.GetValue(asOf)));
            if (!parse.GetValue(watch)) return await ctx.ShowAsync<EndpointView>(path, e => Render(ctx.Out, e), ct);
            if (parse.GetValue(asOf) is not null || ctx.Json) throw CliError.Usage("--watch redraws the endpoint as it is now: not with --as-of or --json");
            return await WatchAsync(ctx, path, ct);
        });
        return command;
    }

    /// <summary>Redraws the endpoint while a rollout is in progress, as it changes (the whole screen on a terminal, a new
    /// snapshot under a time line otherwise), and ends once none is: the Argo Rollouts plugin's <c>get rollout --watch</c>.</summary>
    private static async Task<int> WatchAsync(CliContext ctx, string path, CancellationToken ct)
    {
        var terminal = Training.TrainingProgress.IsTerminal(ctx.Out);
        string? shown = null;
        while (true)
        {
            var e = await ctx.Api.GetAsync<EndpointView>(path, ct);
            var now = new StringWriter();
            Render(now, e);
            if (now.ToString() != shown)
            {
                ctx.Out.Write(terminal ? "\x1b[H\x1b[2J" : $"--- {Fmt.Time(DateTimeOffset.UtcNow)}\n");
                ctx.Out.Write(shown = now.ToString());
            }
            if (e.Rollout is null)
            {
                ctx.Out.WriteLine("no rollout in progress: done watching");
                return 0;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    private static void Render(TextWriter w, EndpointView e)
    {
        w.WriteLine($"endpoint {e.Name}  model {e.ModelName}  revision {e.Revision}  replicas {e.MinReplicas}..{e.MaxReplicas}");
        if (e.DeletedAt is { } deleted)
            w.WriteLine($"  deleted   {Fmt.Time(deleted)}");
        w.WriteLine($"  traffic   {Traffic(e.Traffic)}");
        if (e.Rollout is { } r)
        {
            w.WriteLine($"  rollout   {r.Kind} of v{r.Version}, step {r.Step + 1}/{Math.Max(1, r.Steps.Count)}, started {Fmt.Time(r.StartedAt)} by {r.StartedBy}");
            if (r.Analysis is { } a)
                w.WriteLine($"  analysis  every {a.IntervalSeconds} s after {a.MinRequests} canary requests: errors ≤ {Percent(a.MaxErrorRate)}, "
                            + $"p95 ≤ {Number(a.MaxP95Ratio)} × stable (at least {Number(RolloutAnalysis.P95FloorMs)} ms){(a.MaxP95Ms is { } max ? $" and ≤ {Number(max)} ms" : "")}; "
                            + $"step {r.Step + 1} bakes {r.Steps[r.Step].BakeSeconds} s from {Fmt.Time(r.StepStartedAt)}");
            if (r.Analysis is { ProgressDeadline: > 0 and var deadline } d)
                w.WriteLine($"  deadline  rolled back as stalled after {deadline} measurements of a step in a row without {d.MinRequests} canary requests");
        }
        if (e.Ready is { } ready)
            w.WriteLine($"  observed  revision {e.ObservedRevision} {(ready ? "ready" : "not ready")}{(e.ObservedMessage is { } m ? $": {m}" : "")}"
                        + (e.ObservedLoaded is { Count: > 0 } loaded
                            ? "; loaded " + string.Join(", ", loaded.Select(l => $"v{l.Version} {l.Weight}% (sha256 {l.Sha256[..Math.Min(12, l.Sha256.Length)]}…)"))
                            : ""));
        if (e.RecentAnalysis is { Count: > 0 } records)
        {
            w.WriteLine("  analysis records" + (e.AnalysisRecordsLeftOut is { } leftOut ? $" (the last {records.Count} of {records.Count + leftOut})" : ""));
            var table = new Table("AT", "STEP", "VERDICT", "CANARY", "STABLE", "DETAIL");
            foreach (var x in records)
                table.Row(Fmt.Time(x.ObservedAt), x.Step + 1, x.Verdict, Metrics(x.Canary), Metrics(x.Stable), x.Detail);
            table.WriteTo(w, indent: "    ");
        }
        if (e.Drift is { } drift)
        {
            if (drift.LastWindow is { } last)
                w.WriteLine($"  drift     last window v{last.Version} {Fmt.Time(last.WindowStart)} → {Fmt.Time(last.WindowEnd)}: "
                            + (last.Drifted ? "drifted (" + DriftCommand.Features(last.Features.Where(f => f.Drifted)) + ")" : "clean"));
            foreach (var a in drift.OpenAlarms)
                w.WriteLine($"  ALARM     drift of v{a.Version} since {Fmt.Time(a.FirstWindowStart)} ({a.Windows} windows, raised {Fmt.Time(a.DetectedAt)}): "
                            + DriftCommand.Features(a.Features));
        }
        if (e.Replicas is { Count: > 0 } replicas)
        {
            w.WriteLine("  replicas");
            var table = new Table("REPLICA", "RUNTIME", "URL", "RESTARTS", "LAST", "AT", "REASON");
            foreach (var p in replicas)
                table.Row(p.Name, p.Runtime, p.Url, p.Restarts, p.LastChange.ToString().ToLowerInvariant() + (p.LastExitCode is { } code ? $" (exit {code})" : ""),
                    Fmt.Time(p.ChangedAt), p.LastReason);
            table.WriteTo(w, indent: "    ");
        }
        w.WriteLine("  served");
        foreach (var p in e.Served)
            w.WriteLine($"    v{p.Version}  {Fmt.Time(p.From)} → {(p.To is { } to ? Fmt.Time(to) : "now")}");
        if (e.Rollouts.Count > 0)
        {
            w.WriteLine("  rollouts");
            foreach (var o in e.Rollouts)
                w.WriteLine($"    v{o.Version} {o.Kind} {o.Outcome} by {o.By}  {Fmt.Time(o.StartedAt)} → {Fmt.Time(o.EndedAt)}{(o.Reason is { } why ? $" ({why})" : "")}");
        }
    }

    private static Command List()
    {
        var command = new Command("list", "List endpoints");
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            return ctx.ShowAsync<List<EndpointSummary>>("/api/endpoints", endpoints =>
            {
                var table = new Table("ENDPOINT", "MODEL", "REVISION", "TRAFFIC", "ROLLOUT");
                foreach (var e in endpoints)
                    table.Row(e.Name, e.ModelName, e.Revision, e.Deleted ? "deleted" : Traffic(e.Traffic), e.Rollout is { } r ? $"{r.Kind} v{r.Version} step {r.Step + 1}" : "-");
                table.WriteTo(ctx.Out, "no endpoints yet");
            }, ct);
        });
        return command;
    }

    private static IReadOnlyList<int> Weights(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        return [.. text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(w =>
            int.TryParse(w.TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw CliError.Usage($"--canary: '{w}' is not a weight in percent"))];
    }

    private static string Metrics(VersionMetrics m) =>
        $"{m.Requests} req, {Percent(m.Requests == 0 ? 0 : (double)m.Errors / m.Requests)} errors, p95 {Number(m.P95Ms)} ms";

    private static Argument<string> NameArgument() => new("name") { Description = "Endpoint name" };
}
