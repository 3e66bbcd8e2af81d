using System.Net;
using System.Text.Json;
using EventMlOps.Agents.Tests.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Agents.Tests.Hosting;

/// <summary>The agents' process boundary: what it ships with (never the control plane, its store library, token
/// signing or the local launcher) and the service defaults every host answers.</summary>
public sealed class AgentsHostTests(AgentsFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Given_the_built_agents_When_their_dependencies_are_read_Then_of_ours_only_contracts_artifacts_and_hosting_ship_and_no_store_or_signing_library()
    {
        // The runtime dependency list of the agents' own build output: what a deployed agent process can load.
        var deps = TestHost.Built("Agents", "emo-agents.deps.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(deps));
        var libraries = doc.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name.Split('/')[0]).ToList();

        libraries.Where(l => l.StartsWith("EventMlOps.", StringComparison.Ordinal)).Order()
            .ShouldBe(["EventMlOps.Artifacts", "EventMlOps.Contracts", "EventMlOps.Hosting"]);
        libraries.ShouldNotContain("Marten");
        libraries.ShouldNotContain("Microsoft.AspNetCore.Authentication.JwtBearer");
        libraries.ShouldNotContain("System.IdentityModel.Tokens.Jwt");
    }

    [Fact]
    public async Task Given_running_agents_When_scraped_and_probed_Then_metrics_liveness_and_readiness_answer()
    {
        var home = TestHost.Folder("emo-agents-host-");
        await using var agents = await fx.StartAgentAsync(home);
        var address = agents.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        address.ShouldStartWith("http://127.0.0.1:", Case.Sensitive, "loopback on a free port unless --urls says otherwise");
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        (await http.GetAsync("/health/live", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var ready = await http.GetAsync("/health/ready", Ct);
        ready.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await ready.Content.ReadAsStringAsync(Ct)).ShouldBe("Healthy");
        var metrics = await http.GetStringAsync("/metrics", Ct);
        metrics.ShouldContain("service_name=\"emo-agents\"");
        metrics.ShouldContain("dotnet_gc_");
    }

    [Fact]
    public void Given_settings_as_files_When_the_agents_are_built_Then_they_read_them_and_a_named_folder_that_is_missing_stops_them()
    {
        // What a Vault agent renders: one file per setting, its name the key with __ for ':'.
        var folder = TestHost.Folder("emo-config-files-");
        File.WriteAllText(Path.Combine(folder, "Agents__Token"), "token-from-a-file\n");
        File.WriteAllText(Path.Combine(folder, "ConnectionStrings__Marten"), fx.ConnectionString);
        File.WriteAllText(Path.Combine(folder, "AWS_SECRET_ACCESS_KEY"), "s3cret");

        using var agents = AgentsApp.Build([$"--{EventMlOps.Hosting.ConfigFiles.Variable}={folder}", $"--urls=http://127.0.0.1:0"]);

        agents.Services.GetRequiredService<EventMlOps.Agents.Hosting.AgentToken>().Current.ShouldBe("token-from-a-file");
        agents.Configuration["AWS_SECRET_ACCESS_KEY"].ShouldBe("s3cret");
        Should.Throw<InvalidOperationException>(() => AgentsApp.Build([$"--{EventMlOps.Hosting.ConfigFiles.Variable}={folder}-missing"]))
            .Message.ShouldContain("does not exist");
    }
}
