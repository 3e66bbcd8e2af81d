using System.Net.Http.Headers;
using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Cli.Tests.Endpoints;

public sealed class DeletingEndpointsTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_an_endpoint_When_deleted_from_the_cli_Then_list_and_show_say_so_its_stopped_replica_shows_and_a_second_delete_is_refused()
    {
        var ops = cp.As("olivia", Roles.Operator);
        var endpoint = "ep-" + Guid.NewGuid().ToString("N")[..10];
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", await cp.SeedModelAsync("m-" + endpoint))).ShouldSucceed();

        (await ops.RunAsync("endpoints", "delete", endpoint, "--reason", "retired")).ShouldSucceed().Out.ShouldContain($"deleted endpoint {endpoint}");
        using var serving = new HttpClient { BaseAddress = new Uri(cp.Url) };
        serving.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", cp.Tokens.Issue("serving", [Roles.Agent], TimeSpan.FromHours(1)));
        serving.DefaultRequestHeaders.Add(BusHeaders.GrantHttpHeader, cp.Tokens.IssueGrant($"endpoint:{endpoint}", TimeSpan.FromHours(1)));
        (await serving.Send("/api/endpoints/facts/replica", new ReplicaChangeReport(Guid.NewGuid(), endpoint, $"serve-{endpoint}", ReplicaChange.Stopped,
            "local", "http://127.0.0.1:5001", "endpoint deleted", 0))).EnsureSuccessStatusCode();

        var shown = (await ops.RunAsync("endpoints", "show", endpoint)).ShouldSucceed().Out;
        shown.ShouldContain("  deleted   ");
        shown.ShouldContain("traffic   nothing served");
        var replica = shown.Split('\n').Single(l => l.Contains($"serve-{endpoint}"));
        replica.ShouldContain("http://127.0.0.1:5001");
        replica.ShouldContain("stopped (exit 0)");
        replica.ShouldContain("endpoint deleted");
        (await ops.RunAsync("endpoints", "list")).ShouldSucceed().Out.Split('\n').Single(l => l.StartsWith(endpoint + " ")).ShouldContain("deleted");

        var again = await ops.RunAsync("endpoints", "delete", endpoint, "--reason", "twice");
        again.ExitCode.ShouldBe(2);
        again.Err.ShouldContain($"endpoint '{endpoint}' was deleted at");
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", await cp.SeedModelAsync("m-" + endpoint))).ShouldSucceed();
    }

    [Fact]
    public async Task Given_no_reason_When_deleting_Then_the_usage_asks_for_one()
    {
        var result = await cp.As("olivia", Roles.Operator).RunAsync("endpoints", "delete", "whatever");
        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("--reason");
    }
}
