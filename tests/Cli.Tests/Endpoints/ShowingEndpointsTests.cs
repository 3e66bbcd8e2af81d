using System.Net.Http.Headers;
using System.Security.Cryptography;
using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Cli.Tests.Endpoints;

public sealed class ShowingEndpointsTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_serving_report_When_the_endpoint_is_shown_Then_the_observed_line_names_the_loaded_versions_with_weights_and_hashes()
    {
        var ops = cp.As("olivia", Roles.Operator);
        var endpoint = "ep-" + Guid.NewGuid().ToString("N")[..10];
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", await cp.SeedModelAsync("m-" + endpoint))).ShouldSucceed();
        string v1 = Sha256("v1"), v2 = Sha256("v2");
        using var serving = new HttpClient { BaseAddress = new Uri(cp.Url) };
        serving.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", cp.Tokens.IssueForReplica(endpoint, "serving", TimeSpan.FromHours(1)));
        (await serving.Send("/api/endpoints/facts/observed", new EndpointStatusReport(Guid.NewGuid(), endpoint, 0, Ready: false, "m@3: artifact missing",
            [new LoadedVersion(1, v1, 90), new LoadedVersion(2, v2, 10)]))).EnsureSuccessStatusCode();

        var shown = (await ops.RunAsync("endpoints", "show", endpoint)).ShouldSucceed().Out;

        shown.ShouldContain($"observed  revision 0 not ready: m@3: artifact missing; loaded v1 90% (sha256 {v1[..12]}…), v2 10% (sha256 {v2[..12]}…)");
    }

    [Fact]
    public async Task Given_a_replica_its_runtime_cannot_start_When_the_endpoint_is_shown_Then_its_row_says_waiting_and_why()
    {
        var ops = cp.As("olivia", Roles.Operator);
        var endpoint = "ep-" + Guid.NewGuid().ToString("N")[..10];
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", await cp.SeedModelAsync("m-" + endpoint))).ShouldSucceed();
        using var agent = new HttpClient { BaseAddress = new Uri(cp.Url) };
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", cp.Tokens.Issue("serving", [Roles.Agent], TimeSpan.FromHours(1)));
        agent.DefaultRequestHeaders.Add(BusHeaders.GrantHttpHeader, cp.Tokens.IssueGrant($"endpoint:{endpoint}", TimeSpan.FromHours(1)));
        const string pull = "ImagePullBackOff: Back-off pulling image \"registry.local/emo-serve:1.2\"";
        (await agent.Send("/api/endpoints/facts/replica", new ReplicaChangeReport(Guid.NewGuid(), endpoint, $"serve-{endpoint}", ReplicaChange.Waiting,
            "kubernetes", null, pull))).EnsureSuccessStatusCode();

        var row = (await ops.RunAsync("endpoints", "show", endpoint)).ShouldSucceed().Out.Split('\n').Single(l => l.Contains($"serve-{endpoint}"));

        row.ShouldContain(" waiting ");
        row.TrimEnd().ShouldEndWith(pull);
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
}
