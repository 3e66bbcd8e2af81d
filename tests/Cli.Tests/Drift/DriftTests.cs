using System.Net.Http.Headers;
using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Tests.Drift;

public sealed class DriftTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_drifting_windows_reported_When_emo_drift_and_endpoints_show_run_Then_they_print_the_sparklines_windows_and_the_alarm()
    {
        var lifecycle = new Lifecycle(cp);
        var (_, _, v1) = await lifecycle.RegisteredVersionAsync();
        (await lifecycle.Bob.RunAsync("versions", "approve", v1)).ShouldSucceed();
        var ops = cp.As("olivia", Roles.Operator);
        var endpoint = lifecycle.Model + "-dr";
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", lifecycle.Model)).ShouldSucceed();
        (await ops.RunAsync("endpoints", "rollout", endpoint, "--version", "1")).ShouldSucceed();
        (await Eventually(async () => (await ApiGet<EndpointView>($"/api/endpoints/{endpoint}")).Traffic.Count == 1)).ShouldBeTrue();

        using var agent = Client(Roles.Agent, "drift-agent");
        agent.DefaultRequestHeaders.Add(BusHeaders.GrantHttpHeader, cp.Tokens.IssueGrant($"endpoint:{endpoint}", TimeSpan.FromHours(1)));
        // Windows of v1's traffic are dated after it began serving: from the next whole second, 10 s each.
        var t0 = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        string At(int window) => t0.AddSeconds(10 * window).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var beforeFacts = DateTimeOffset.UtcNow;
        double[] age = [0.5, 0.3, 0.001, 0.0001];
        for (var i = 0; i < age.Length; i++)
            (await agent.Send("/api/endpoints/facts/drift-measured", new DriftMeasured(Guid.NewGuid(), endpoint, lifecycle.Model, 1, t0.AddSeconds(10 * i),
                t0.AddSeconds(10 * (i + 1)), 300, [new FeatureScore("age", FeatureRole.Input, DriftMethod.KolmogorovSmirnov, age[i], 300),
                    new FeatureScore("rating", FeatureRole.Output, DriftMethod.Wasserstein, 0.02 * i, 300)]))).EnsureSuccessStatusCode();

        var drift = (await ops.RunAsync("drift", endpoint)).ShouldSucceed().Out;
        drift.ShouldContain($"drift of endpoint {endpoint}  model {lifecycle.Model}: 4 windows, 1 alarms");
        drift.Split('\n').Single(l => l.Contains("KolmogorovSmirnov")).ShouldContain("█▅▁▁");
        drift.Split('\n').Single(l => l.Contains("KolmogorovSmirnov")).ShouldContain("< 0.05");
        drift.Split('\n').Single(l => l.Contains("Wasserstein")).ShouldContain("▁▃▆█");
        drift.ShouldContain($"{At(3)}  {At(4)}  300      drifted  age");
        var alarm = drift.Split('\n').Single(l => l.Contains($"2 from {At(2)} to {At(4)}"));
        alarm.ShouldContain("age 1e-4");
        alarm.TrimEnd().ShouldEndWith("open");

        var show = (await ops.RunAsync("endpoints", "show", endpoint)).ShouldSucceed().Out;
        show.ShouldContain($"  drift     last window v1 {At(3)} → {At(4)}: drifted (age 1e-4)");
        show.ShouldContain($"  ALARM     drift of v1 since {At(2)} (2 windows");

        var json = (await ops.RunAsync("drift", endpoint, "--limit", "2", "--json")).ShouldSucceed().Out;
        ApiClient.Deserialize<EndpointDrift>(json).Windows.Count.ShouldBe(2);
        var before = (await ops.RunAsync("drift", endpoint, "--as-of", beforeFacts.ToString("O"))).ShouldSucceed().Out;
        before.ShouldContain("no window measured");
    }

    [Fact]
    public async Task Given_a_bad_limit_or_an_unknown_endpoint_When_emo_drift_runs_Then_it_exits_2_saying_why()
    {
        var viewer = cp.As("victor", Roles.Viewer);
        var bad = await viewer.RunAsync("drift", "nope", "--limit", "0");
        bad.ExitCode.ShouldBe(2);
        var unknown = await viewer.RunAsync("drift", "nope-" + Guid.NewGuid().ToString("N")[..8]);
        unknown.ExitCode.ShouldBe(2);
        unknown.Err.ShouldContain("does not exist");
    }

    private static async Task<bool> Eventually(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
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
