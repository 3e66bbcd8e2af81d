using System.Net.Http.Headers;
using EventMlOps.Cli.Hosting;
using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Tests.Environments;

// Alone: each rebuild starts a control plane, agents and replicas of its own, which on 2 cores beside the demo's training
// took minutes to become ready.
[CollectionDefinition(nameof(RebuildingEnvironmentsTests), DisableParallelization = true)]
public sealed class RebuildingEnvironmentsCollection;

/// <summary><c>emo env rebuild</c> as a real process against the fixture's control plane, agents and artifact store: a
/// canary's moment and the promoted present, each rebuilt in a fresh home whose own control plane, agents and replicas come
/// up from the history alone and serve what was served then.</summary>
[Collection(nameof(RebuildingEnvironmentsTests))]
public sealed class RebuildingEnvironmentsTests(ControlPlaneFixture cp)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Given_a_canary_later_promoted_When_its_moment_and_the_present_are_rebuilt_Then_each_new_environment_serves_the_split_of_its_moment()
    {
        var lifecycle = new Lifecycle(cp);
        var (dataset, _, v1) = await lifecycle.RegisteredVersionAsync();
        var v2 = await lifecycle.SecondVersionAsync(dataset);
        (await lifecycle.Bob.RunAsync("versions", "approve", v1)).ShouldSucceed();
        (await lifecycle.Bob.RunAsync("versions", "approve", v2)).ShouldSucceed();
        var ops = cp.As("olivia", Roles.Operator);
        var endpoint = lifecycle.Model + "-ep";
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", lifecycle.Model)).ShouldSucceed();
        (await ops.RunAsync("endpoints", "rollout", endpoint, "--version", "1")).ShouldSucceed();
        // An hour between measurements: the canary stays at 10 % until promoted by hand.
        (await ops.RunAsync("endpoints", "rollout", endpoint, "--version", "2", "--canary", "10,50", "--bake", "0", "--interval", "3600")).ShouldSucceed();
        using var admin = Client(cp.Url, cp.Tokens.Issue("ada", [Roles.Admin], TimeSpan.FromHours(1)));
        var canary = (await admin.Get<EnvironmentPlan>("/api/environment/plan")).UntilSequence;
        (await ops.RunAsync("endpoints", "promote", endpoint)).ShouldSucceed();
        var adminToken = cp.Tokens.Issue("ada", [Roles.Admin], TimeSpan.FromHours(1));
        string[] homes = [Folder(), Folder(), Folder()];
        string[] schemas = [cp.Schema + "_env1", cp.Schema + "_env2", cp.Schema + "_env3"];
        try
        {
            var then = await RebuildAsync(homes[0], schemas[0], adminToken, canary.ToString(System.Globalization.CultureInfo.InvariantCulture));
            then.ShouldSucceed().Out.ShouldContain("replicas): v1 90 %, v2 10 %; Canary rollout of v2 at step 1 of 2, started by olivia");
            then.Out.ShouldContain($"{endpoint} serves v1 90 %, v2 10 %");
            var served = await ServedVersionsAsync(homes[0], endpoint, 300);
            served.Keys.ShouldBe([$"{lifecycle.Model}@1", $"{lifecycle.Model}@2"], ignoreOrder: true);
            (served[$"{lifecycle.Model}@2"] / 300.0).ShouldBeInRange(0.03, 0.2, "about the canary's 10 % (300 requests)");

            // The rebuilt store holds the history and records its restore; a plan there says the same as the source's did.
            using (var rebuilt = Client(new LocalControlPlane(homes[0]).RecordedUrl()!, new LocalControlPlane(homes[0]).RecordedToken()!))
            {
                var there = await rebuilt.Get<EnvironmentPlan>($"/api/environment/plan?asOf={canary}");
                there.Endpoints.Single(e => e.Name == endpoint).ShouldBeEquivalentTo((await admin.Get<EnvironmentPlan>($"/api/environment/plan?asOf={canary}")).Endpoints.Single(e => e.Name == endpoint));
            }
            // The shared store holds every other test's endpoints too, each rebuilt with replicas: one environment at a time.
            (await cp.ProcessAsync(homes[0], schemas[0], ["down"])).ShouldSucceed();

            var now = await RebuildAsync(homes[1], schemas[1], adminToken, DateTimeOffset.UtcNow.ToString("O"));
            now.ShouldSucceed().Out.ShouldContain($"{endpoint} serves v2 100 %");
            (await ServedVersionsAsync(homes[1], endpoint, 50)).Keys.ShouldBe([$"{lifecycle.Model}@2"]);

            // An altered artifact stops a rebuild before anything starts.
            var model = new Uri((await admin.Get<EnvironmentPlan>($"/api/environment/plan?asOf={canary}")).Artifacts.First(a => a.Kind == "model" && a.Of == v1).Uri).LocalPath;
            await File.AppendAllTextAsync(model, "tampered", Ct);
            var refused = await RebuildAsync(homes[2], schemas[2], adminToken, canary.ToString(System.Globalization.CultureInfo.InvariantCulture));
            refused.ExitCode.ShouldBe(1, refused.ToString());
            refused.Out.ShouldContain($"FAILED  model    {v1}");
            refused.Out.ShouldContain("was altered: its content no longer has the recorded sha256");
            refused.Err.ShouldContain("nothing was started");
            Directory.Exists(homes[2]).ShouldBeFalse("nothing was made for the refused rebuild");
        }
        finally
        {
            for (var i = 0; i < homes.Length; i++)
            {
                await cp.ProcessAsync(homes[i], schemas[i], ["down"]);
                await cp.DropSchemasAsync(schemas[i]);
            }
        }
    }

    [Fact]
    public async Task Given_a_home_that_is_not_empty_When_rebuilt_into_Then_it_is_refused_before_asking_the_source()
    {
        var before = Directory.EnumerateFileSystemEntries(cp.Home).Count();

        var result = await cp.As("ada", Roles.Admin).RunAsync("env", "rebuild", "--as-of", "1");

        result.ExitCode.ShouldBe(2, result.ToString());
        result.Err.ShouldContain("is not empty: a rebuild starts from a fresh home");
        Directory.EnumerateFileSystemEntries(cp.Home).Count().ShouldBe(before);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Given_a_new_control_plane_that_cannot_be_ready_in_time_When_rebuilt_Then_what_started_is_stopped_and_the_home_removed()
    {
        (await cp.As("alice", Roles.Scientist).RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", "some-history")).ShouldSucceed();
        var (home, schema) = (Folder(), cp.Schema + "_env_failed");
        try
        {
            var failed = await RebuildAsync(home, schema, cp.Tokens.Issue("ada", [Roles.Admin], TimeSpan.FromHours(1)), "1", timeoutSeconds: 1);

            failed.ExitCode.ShouldBe(1, failed.ToString());
            failed.Out.ShouldContain("the rebuild stopped before the history was restored: stopping what it started and removing");
            Directory.Exists(home).ShouldBeFalse("the same rebuild can run again into the same home");
            var pid = int.Parse(System.Text.RegularExpressions.Regex.Match(failed.Out, @"\(pid (\d+),").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Running(pid).ShouldBeFalse("its control plane was stopped");

            Directory.CreateDirectory(home); // an empty home the user made: emptied, not removed
            var again = await RebuildAsync(home, schema, cp.Tokens.Issue("ada", [Roles.Admin], TimeSpan.FromHours(1)), "1", timeoutSeconds: 1);
            again.ExitCode.ShouldBe(1, again.ToString());
            Directory.Exists(home).ShouldBeTrue("the folder the user made stays");
            Directory.EnumerateFileSystemEntries(home).ShouldBeEmpty("nothing of the failed rebuild is left in it");
        }
        finally
        {
            if (Directory.Exists(home)) await cp.ProcessAsync(home, schema, ["down"]);
            await cp.DropSchemasAsync(schema);
        }
    }

    /// <summary>Whether the process is alive: an exited one whose parent is gone may linger unreaped (state Z).</summary>
    private static bool Running(int pid) =>
        File.Exists($"/proc/{pid}/stat") && File.ReadAllText($"/proc/{pid}/stat") is var stat && stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';

    private Task<EmoResult> RebuildAsync(string home, string schema, string token, string asOf, int timeoutSeconds = 300) =>
        cp.ProcessAsync(home, schema, ["env", "rebuild", "--as-of", asOf, "--from-home", cp.Home, "--url", cp.Url, "--token", token,
                "--timeout", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new Dictionary<string, string> { ["EMO_SERVE"] = TestHost.Built("Serving", "emo-serve.dll") });

    /// <summary>How many of <paramref name="requests"/> recommendations each version answered, by the rebuilt replica's
    /// <c>X-Model-Version</c>.</summary>
    private static async Task<Dictionary<string, int>> ServedVersionsAsync(string home, string endpoint, int requests)
    {
        var local = new LocalControlPlane(home);
        using var api = Client(local.RecordedUrl()!, local.RecordedToken()!);
        var replica = (await api.Get<EndpointView>($"/api/endpoints/{endpoint}")).Replicas!.Where(r => r.Url is not null).MaxBy(r => r.ChangedAt)!.Url!; // the one started here, not an imported one
        using var http = new HttpClient { BaseAddress = new Uri(replica) };
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < requests; i++)
        {
            using var response = await http.GetAsync($"/recommend?user_id={i % 100 + 1}&k=5", Ct);
            response.EnsureSuccessStatusCode();
            var version = response.Headers.GetValues("X-Model-Version").Single();
            counts[version] = counts.GetValueOrDefault(version) + 1;
        }
        return counts;
    }

    // The parent the jobs' unprivileged account may pass through, as `emo up` needs of any home's parents.
    private static string Folder() => Path.Combine(TestHost.Folder("emo-env-"), "home");

    private static HttpClient Client(string url, string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
