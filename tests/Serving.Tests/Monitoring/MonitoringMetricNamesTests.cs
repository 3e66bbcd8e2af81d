using System.Text.Json;
using EventMlOps.Contracts.Endpoints;
using System.Text.RegularExpressions;
using EventMlOps.Serving.Tests.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Serving.Tests.Monitoring;

/// <summary>deploy/kubernetes/components/monitoring against the running programs: every series a dashboard panel or an
/// alert queries is in the <c>/metrics</c> of the program its <c>job</c> matcher names (the control plane, the agents,
/// emo-serve — all three started here, each after doing what records its metrics once), every <c>event_type</c> it names is
/// an event of the control plane, and the Prometheus-adapter rule is the README's. In one process the hosts' meters are
/// all seen by each exporter (a <c>Meter</c> is process-wide), so a name is checked against the program it should come
/// from, not proven absent from the others.</summary>
public sealed partial class MonitoringMetricNamesTests(TrainedModels models, ControlPlaneFixture cp) : IClassFixture<ControlPlaneFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Monitoring => Path.Combine(TestHost.RepoRoot(), "deploy", "kubernetes", "components", "monitoring");

    /// <summary>Series no program of ours exports, which the dashboards and alerts read on purpose.</summary>
    private static bool External(string name) =>
        name.StartsWith("kube_", StringComparison.Ordinal) // kube-state-metrics (pods' waiting reasons, restarts, Deployments' replicas)
        || name.StartsWith("DCGM_", StringComparison.Ordinal) // NVIDIA dcgm-exporter (GPU utilisation and memory), where GPUs run
        || name == "up"; // written by Prometheus itself for every scrape target

    [Fact]
    public async Task Given_the_three_programs_after_one_of_everything_When_scraped_Then_every_series_the_dashboards_and_alerts_query_is_exported_by_its_job()
    {
        var queries = DashboardQueries().Concat(AlertQueries()).ToList();
        queries.Count.ShouldBeGreaterThan(30);
        var series = queries.SelectMany(q => Series(q.Expr).Select(s => (q.Where, s.Name, s.Jobs))).ToList();
        series.Where(s => !External(s.Name) && s.Jobs.Count == 0).Select(s => $"{s.Where}: {s.Name}")
            .ShouldBeEmpty("a series of ours is selected by its job, so that the program it comes from is known");

        var scrapes = await ScrapeAsync(series.Where(s => !External(s.Name)).ToList());

        var missing = series.Where(s => !External(s.Name))
            .SelectMany(s => s.Jobs.Where(job => !Exported(scrapes[job], s.Name)).Select(job => $"{s.Where}: {s.Name} (job {job})"))
            .Distinct().ToList();
        missing.ShouldBeEmpty();
    }

    [Fact]
    public void Given_the_dashboards_and_alerts_When_their_event_types_are_read_Then_each_is_an_event_the_control_plane_appends()
    {
        // Marten names an event type by its class in snake case (CanaryRolledBack → canary_rolled_back).
        var events = typeof(EventMlOps.ControlPlane.ControlPlaneApp).Assembly.GetTypes()
            .Select(t => SnakeCase().Replace(t.Name, "_$1").ToLowerInvariant()).ToHashSet();
        var named = DashboardQueries().Concat(AlertQueries())
            .SelectMany(q => EventTypeMatcher().Matches(q.Expr).SelectMany(m => m.Groups[1].Value.Split('|').Select(e => (q.Where, Event: e))))
            .ToList();

        named.Count.ShouldBeGreaterThan(10);
        named.Where(n => !events.Contains(n.Event)).Select(n => $"{n.Where}: {n.Event}").ShouldBeEmpty();
    }

    [Fact]
    public void Given_the_prometheus_adapter_rule_When_compared_with_the_README_Then_they_are_the_same()
    {
        var readme = File.ReadAllText(Path.Combine(TestHost.RepoRoot(), "README.md"));
        var documented = ReadmeAdapterRule().Match(readme);
        documented.Success.ShouldBeTrue("README 'Kubernetes' shows the adapter's rule");

        var configMap = File.ReadAllLines(Path.Combine(Monitoring, "prometheus-adapter-rules.yaml"));
        var shipped = configMap.SkipWhile(l => l.Trim() != "rules.yaml: |").Skip(1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal))
            .Select(l => l[4..]);

        string.Join('\n', shipped).ShouldBe(documented.Groups[1].Value.TrimEnd('\n'));
    }

    private sealed record Query(string Where, string Expr);

    private static IEnumerable<Query> DashboardQueries()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Monitoring, "dashboards"), "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
                if (panel.TryGetProperty("targets", out var targets))
                    foreach (var target in targets.EnumerateArray())
                        yield return new($"{Path.GetFileName(file)} '{panel.GetProperty("title").GetString()}'", target.GetProperty("expr").GetString()!);
        }
    }

    /// <summary>The PrometheusRule's <c>expr</c>s: single-line, or a <c>|</c> block (the more-indented lines under it).</summary>
    private static IEnumerable<Query> AlertQueries()
    {
        var lines = File.ReadAllLines(Path.Combine(Monitoring, "prometheusrule.yaml"));
        string alert = "";
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.StartsWith("- alert:", StringComparison.Ordinal)) alert = line["- alert:".Length..].Trim();
            if (!line.StartsWith("expr:", StringComparison.Ordinal)) continue;
            var expr = line["expr:".Length..].Trim();
            if (expr == "|")
            {
                var indent = lines[i].IndexOf('e');
                expr = string.Join(' ', lines.Skip(i + 1).TakeWhile(l => l.Length - l.TrimStart().Length > indent).Select(l => l.Trim()));
            }
            yield return new($"prometheusrule.yaml {alert}", expr);
        }
    }

    private static readonly HashSet<string> Keywords =
        ["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan",
            // Aggregations, which may stand before their by (…) rather than their (.
            "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio"];

    /// <summary>The series names in a PromQL expression and the jobs each is selected by (<c>job="a"</c>, or
    /// <c>job=~"a|b"</c>): an identifier followed by a selector or a range, or standing alone; not a function or an
    /// aggregation, a keyword, or a label in a <c>by (…)</c> list. Label values (in quotes) may hold regular expressions:
    /// alternatives are written out in full (<c>a_b|a_c</c>), never grouped.</summary>
    private static List<(string Name, List<string> Jobs)> Series(string expr)
    {
        var found = new List<(string, List<string>)>();
        var i = 0;
        while (i < expr.Length)
        {
            var c = expr[i];
            if (c == '"') { i = expr.IndexOf('"', i + 1) + 1; continue; }
            if (c == '[') { i = expr.IndexOf(']', i) + 1; continue; }
            if (char.IsDigit(c)) { while (i < expr.Length && (char.IsLetterOrDigit(expr[i]) || expr[i] == '.')) i++; continue; }
            if (!(char.IsLetter(c) || c == '_' || c == ':')) { i++; continue; }
            var start = i;
            while (i < expr.Length && (char.IsLetterOrDigit(expr[i]) || expr[i] is '_' or ':')) i++;
            var name = expr[start..i];
            var next = i;
            while (next < expr.Length && expr[next] == ' ') next++;
            var follows = next < expr.Length ? expr[next] : '\0';
            if (Keywords.Contains(name))
            {
                if (name is "by" or "without" or "on" or "ignoring" or "group_left" or "group_right" && follows == '(') i = expr.IndexOf(')', next) + 1;
                continue;
            }
            if (follows == '(') continue;
            var jobs = new List<string>();
            if (follows == '{')
            {
                var end = expr.IndexOf('}', next);
                if (JobMatcher().Match(expr[next..end]) is { Success: true } job) jobs.AddRange(job.Groups[1].Value.Split('|'));
                i = end + 1;
            }
            found.Add((name, jobs));
        }
        return found;
    }

    private static bool Exported(HashSet<string> names, string name) =>
        names.Contains(name) || (HistogramPart().Match(name) is { Success: true } part && names.Contains(part.Groups[1].Value + "_bucket"));

    /// <summary>Starts what each job scrapes and makes each record once: the control plane takes commands (accepted and
    /// refused, over the API and the bus) and its work-orders subscription processes them; emo-serve answers a request and refuses one; the agents
    /// run. Scrapes until every name is there (the daemon records its lag when it next processes) or 20 s passed.</summary>
    private async Task<Dictionary<string, HashSet<string>>> ScrapeAsync(List<(string Where, string Name, List<string> Jobs)> wanted)
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (v1, _) = await lifecycle.VersionAsync(models.RecommenderPath);
        await using var serving = await lifecycle.ServingAsync(v1, "serving-monitoring");
        await lifecycle.ObservedAsync();
        (await serving.GetJson("/recommend?user_id=1&k=5")).Status.ShouldBe(System.Net.HttpStatusCode.OK);
        await serving.GetJson("/recommend?user_id=oops");
        using var operatorClient = cp.Client(EventMlOps.Contracts.Roles.Operator, "olga");
        (await operatorClient.Send("/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), lifecycle.Endpoint))).StatusCode
            .ShouldBe(System.Net.HttpStatusCode.UnprocessableEntity, "nothing to promote: a refused command");
        await using var agents = await cp.StartAgentsAsync(TestHost.Folder("emo-monitoring-agents-"));
        var agentsAddress = agents.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // A fact on the bus from an agent holding no work order for its run: the gate refuses it (the bus's failure counter).
        await agents.Services.GetRequiredService<Wolverine.IMessageBus>().PublishAsync(
            new EventMlOps.Contracts.Training.EpochReport(Guid.NewGuid(), Guid.NewGuid(), 1, new Dictionary<string, double> { ["loss"] = 1 }));

        using var http = new HttpClient();
        var sources = new Dictionary<string, Func<Task<string>>>
        {
            ["emo-control-plane"] = () => http.GetStringAsync(new Uri(cp.BaseAddress, "/metrics"), Ct),
            ["emo-agents"] = () => http.GetStringAsync(new Uri(new Uri(agentsAddress), "/metrics"), Ct),
            ["emo-serve"] = () => serving.Client.GetStringAsync("/metrics", Ct),
        };
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var scrapes = new Dictionary<string, HashSet<string>>();
            foreach (var (job, scrape) in sources)
                scrapes[job] = (await scrape()).Split('\n').Where(l => l.Length > 0 && l[0] != '#')
                    .Select(l => l[..l.IndexOfAny(['{', ' '])]).ToHashSet();
            if (DateTime.UtcNow > deadline || wanted.All(w => w.Jobs.All(job => scrapes.ContainsKey(job) && Exported(scrapes[job], w.Name))))
                return scrapes;
            await Task.Delay(500, Ct);
        }
    }

    [GeneratedRegex("job=~?\"([^\"]+)\"")]
    private static partial Regex JobMatcher();

    [GeneratedRegex("event_type=~?\"([^\"]+)\"")]
    private static partial Regex EventTypeMatcher();

    [GeneratedRegex("^(.+)_(?:bucket|sum|count)$")]
    private static partial Regex HistogramPart();

    [GeneratedRegex("(?<=[a-z0-9])([A-Z])")]
    private static partial Regex SnakeCase();

    [GeneratedRegex("Its rule:\n\n```yaml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ReadmeAdapterRule();
}
