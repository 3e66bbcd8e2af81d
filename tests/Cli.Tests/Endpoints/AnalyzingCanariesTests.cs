using System.Net.Http.Headers;
using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Tests.Endpoints;

public sealed class AnalyzingCanariesTests(ControlPlaneFixture cp)
{
    /// <summary>Two approved versions of a new model (each a real training run by the fixture's agent), and an endpoint serving
    /// v1; the operator who rolls them.</summary>
    private async Task<(EmoUser Ops, string Endpoint)> ServingV1Async(string suffix)
    {
        var lifecycle = new Lifecycle(cp);
        var (dataset, _, v1) = await lifecycle.RegisteredVersionAsync();
        (await lifecycle.Bob.RunAsync("versions", "approve", v1)).ShouldSucceed();
        (await lifecycle.Bob.RunAsync("versions", "approve", await lifecycle.SecondVersionAsync(dataset))).ShouldSucceed();
        var ops = cp.As("olivia", Roles.Operator);
        var endpoint = $"{lifecycle.Model}-{suffix}";
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", lifecycle.Model)).ShouldSucceed();
        (await ops.RunAsync("endpoints", "rollout", endpoint, "--version", "1")).ShouldSucceed();
        return (ops, endpoint);
    }

    [Fact]
    public async Task Given_a_canary_When_its_endpoint_is_watched_and_an_operator_promotes_it_Then_the_watch_redraws_the_change_and_ends()
    {
        var (ops, endpoint) = await ServingV1Async("watched");
        (await ops.RunAsync("endpoints", "rollout", endpoint, "--version", "2", "--canary", "10,50", "--bake", "0", "--interval", "3600")).ShouldSucceed();
        var screen = new StringWriter();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        stop.CancelAfter(TimeSpan.FromSeconds(60));

        var watching = ops.RunAsync(["endpoints", "show", endpoint, "--watch"], stop.Token, TextWriter.Synchronized(screen));
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        (await ops.RunAsync("endpoints", "promote", endpoint)).ShouldSucceed();
        var watched = await watching;

        watched.ExitCode.ShouldBe(0, watched.Err);
        // Off a terminal, each drawing comes under a line of its own: "--- <time>".
        var snapshots = System.Text.RegularExpressions.Regex.Split(screen.ToString(), @"(?m)^--- \d{4}-\d\d-\d\d[^\n]*\n").Where(x => x.Length > 0).ToList();
        snapshots.Count.ShouldBeGreaterThanOrEqualTo(2, "a first drawing, and one after the promotion");
        snapshots[0].ShouldContain("  rollout   Canary of v2, step 1/2");
        snapshots[^1].ShouldContain("  traffic   v2 100%");
        snapshots[^1].ShouldNotContain("  rollout   ");
        snapshots[^1].TrimEnd().ShouldEndWith("no rollout in progress: done watching");
    }

    [Fact]
    public async Task Given_a_canary_with_its_own_limits_When_the_agent_reports_a_breach_Then_show_prints_the_limits_the_records_and_the_rollback()
    {
        var (ops, endpoint) = await ServingV1Async("ep");
        // A measurement interval of an hour keeps the fixture's own rollout agent out of this test's analysis.
        // The canary named by the endpoint model's latest version, as a person would say it.
        (await ops.RunAsync("endpoints", "rollout", endpoint, "--version", "latest", "--canary", "10,50", "--bake", "0", "--interval", "3600",
            "--min-requests", "10", "--max-error-rate", "0.02", "--max-p95-ms", "250", "--max-p95-ratio", "1.5")).ShouldSucceed()
            .Out.ShouldContain($"started a canary of version 2 on {endpoint}");

        var during = (await ops.RunAsync("endpoints", "show", endpoint)).ShouldSucceed().Out;
        during.ShouldContain("  analysis  every 3600 s after 10 canary requests: errors ≤ 2.0 %, p95 ≤ 1.5 × stable (at least 5 ms) and ≤ 250 ms; step 1 bakes 0 s from ");

        var state = await ApiGet<EndpointView>($"/api/endpoints/{endpoint}");
        using var agent = Client(Roles.Agent, "rollout-agent");
        agent.DefaultRequestHeaders.Add(BusHeaders.GrantHttpHeader, cp.Tokens.IssueGrant($"endpoint:{endpoint}", TimeSpan.FromHours(1)));
        // Eleven quiet measurements first: the canary waits for traffic (its deadline is 120), and show keeps the last 10.
        for (var i = 0; i < 11; i++)
            (await agent.Send("/api/endpoints/facts/step", new RolloutStepReport(Guid.NewGuid(), endpoint, state.Rollout!.RolloutId, 0,
                new VersionMetrics(3, 0, 20), new VersionMetrics(900, 1, 18)))).EnsureSuccessStatusCode();
        var waiting = (await ops.RunAsync("endpoints", "show", endpoint)).ShouldSucceed().Out;
        waiting.ShouldContain("  deadline  rolled back as stalled after 120 measurements of a step in a row without 10 canary requests");
        waiting.ShouldContain("  analysis records (the last 10 of 11)");
        (await agent.Send("/api/endpoints/facts/step", new RolloutStepReport(Guid.NewGuid(), endpoint, state.Rollout!.RolloutId, 0,
            new VersionMetrics(100, 10, 20), new VersionMetrics(900, 1, 18)))).EnsureSuccessStatusCode();

        var after = (await ops.RunAsync("endpoints", "show", endpoint)).ShouldSucceed().Out;
        after.ShouldContain("traffic   v1 100%");
        after.Split('\n').Single(l => l.Contains(" breach ")).ShouldContain("100 req, 10.0 % errors, p95 20 ms  900 req, 0.1 % errors, p95 18 ms  canary error rate 10.0 % > 2.0 %");
        after.ShouldContain("v2 Canary rolled back by rollout-agent");
        after.ShouldContain("(canary error rate 10.0 % > 2.0 %)");
    }

    [Fact]
    public async Task Given_analysis_limits_without_a_canary_When_rolling_out_Then_the_usage_says_they_judge_a_canary()
    {
        var result = await cp.As("olivia", Roles.Operator).RunAsync("endpoints", "rollout", "whatever", "--version", "1", "--max-error-rate", "0.1");
        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("add --canary");
    }

    private HttpClient Client(string role, string name)
    {
        var client = new HttpClient { BaseAddress = new Uri(cp.Url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", cp.Tokens.Issue(name, [role], TimeSpan.FromHours(1)));
        return client;
    }

    private async Task<T> ApiGet<T>(string path)
    {
        using var viewer = Client(Roles.Viewer, "victor");
        return await viewer.Get<T>(path);
    }
}
