using EventMlOps.Agents.Hosting;
using EventMlOps.Contracts;

namespace EventMlOps.Agents.Tests.Hosting;

/// <summary>Every fact an agent reports about a run or an endpoint is routed to the control plane, grouped by its stream
/// and sent with its work order's grant — derived from the fact's marker interface, so a new fact cannot be forgotten.</summary>
public sealed class AgentBusTests
{
    [Fact]
    public void Given_the_facts_of_the_contracts_When_the_agents_bus_is_read_Then_each_is_routed_with_its_scope()
    {
        var facts = typeof(ICommand).Assembly.GetTypes()
            .Where(t => t.IsClass && (typeof(IRunFact).IsAssignableFrom(t) || typeof(IEndpointFact).IsAssignableFrom(t)))
            // Drift measurements have no producer yet (the drift agent is its own issue).
            .Where(t => t.Namespace != "EventMlOps.Contracts.Drift")
            .ToList();

        facts.Except(AgentBus.Facts).Select(t => t.Name).ShouldBeEmpty("facts the agents could not send");
        WorkGrants.ScopeOf(new Contracts.Training.TrainingStarted(Guid.NewGuid(), Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"), DateTimeOffset.UtcNow))
            .ShouldBe("run:6f9619ff8b86d011b42d00c04fc964ff");
        WorkGrants.ScopeOf(new Contracts.Endpoints.EndpointObserved(Guid.NewGuid(), "rec", 1, true)).ShouldBe("endpoint:rec");
    }
}
