using System.Runtime.CompilerServices;
using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Tests.Testing;
using EventMlOps.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Tests.Hosting;

/// <summary>Every report an agent can send — whichever slice declares it — is routed to the control plane by the
/// running agents' bus, and each fact about a run or an endpoint travels with its scope's grant: derived from the
/// contracts' marker interfaces, so a new fact cannot be forgotten.</summary>
public sealed class AgentBusTests(AgentsFixture fx)
{
    private static readonly Type[] Reports = [.. typeof(ICommand).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IAgentReport).IsAssignableFrom(t))];

    [Fact]
    public async Task Given_running_agents_When_each_report_of_the_contracts_is_routed_Then_it_goes_to_the_control_planes_queue()
    {
        await using var agents = await fx.StartAgentAsync(TestHost.Folder("emo-agent-bus-"));
        var bus = new MessageBus(agents.Services.GetRequiredService<IWolverineRuntime>());

        Reports.Length.ShouldBeGreaterThan(8);
        foreach (var report in Reports)
        {
            var routes = bus.PreviewSubscriptions(RuntimeHelpers.GetUninitializedObject(report));
            routes.Select(r => r.Destination!.ToString()).ShouldBe(["postgresql://emo_control_plane/"], report.Name);
        }
    }

    [Fact]
    public void Given_facts_about_a_run_and_an_endpoint_When_their_scope_is_read_Then_it_names_the_stream_whose_grant_they_carry()
    {
        WorkGrants.ScopeOf(new Contracts.Training.TrainingStartedReport(Guid.NewGuid(), Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"), DateTimeOffset.UtcNow))
            .ShouldBe("run:6f9619ff8b86d011b42d00c04fc964ff");
        WorkGrants.ScopeOf(new Contracts.Endpoints.EndpointStatusReport(Guid.NewGuid(), "rec", 1, true)).ShouldBe("endpoint:rec");
        WorkGrants.ScopeOf(new Contracts.Training.RequestWorkOrders(Guid.NewGuid(), [], [])).ShouldBeNull("a request for orders is no fact about one scope");
    }
}
