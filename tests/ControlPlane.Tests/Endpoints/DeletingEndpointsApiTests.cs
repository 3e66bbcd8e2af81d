using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Endpoints;

public class DeletingEndpointsApiTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_a_serving_endpoint_When_deleted_Then_serving_sees_it_commands_are_refused_replica_facts_recorded_and_the_name_can_be_created_again()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun());
        await s.CreateEndpoint();
        (await s.RollOut(v1)).EnsureSuccessStatusCode();
        var serving = fx.Client(Roles.Agent, "serving-agent");
        var served = await serving.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired");

        var waiting = serving.GetAsync($"/api/endpoints/{s.Endpoint}/desired?after={served.Revision}&waitSeconds=20", Ct);
        (await s.Viewer.Send("/api/endpoints/delete", new DeleteEndpoint(Guid.NewGuid(), s.Endpoint, "retired"))).StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden);
        (await s.Operator.Send("/api/endpoints/delete", new DeleteEndpoint(Guid.NewGuid(), s.Endpoint, "retired"))).EnsureSuccessStatusCode();
        var deleted = await (await waiting).Read<ApplyEndpoint>();
        (deleted.Deleted, deleted.Versions.Count).ShouldBe((true, 0));
        deleted.Revision.ShouldBeGreaterThan(served.Revision);
        (await serving.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired")).Deleted.ShouldBeTrue("a deleted endpoint answers, not 404");
        (await WorkOrders.Eventually(fx, $"\"endpoint\":\"{s.Endpoint}\"", "\"deleted\":true")).ShouldBeTrue("the agents get the deletion as a work order");

        var refused = await (await s.RollOut(v1)).Problem(422);
        refused.GetProperty("detail").GetString()!.ShouldContain($"endpoint '{s.Endpoint}' was deleted at");
        (await s.AgentFact("/api/endpoints/facts/replica", new ReplicaChangeReport(Guid.NewGuid(), s.Endpoint, $"serve-{s.Endpoint}",
            ReplicaChange.Stopped, "local", "http://127.0.0.1:5001", "endpoint deleted"), serving)).EnsureSuccessStatusCode();

        var endpoint = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}");
        endpoint.DeletedAt.ShouldNotBeNull();
        endpoint.Replicas!.Single().ShouldSatisfyAllConditions(
            r => r.Name.ShouldBe($"serve-{s.Endpoint}"), r => r.LastChange.ShouldBe(ReplicaChange.Stopped), r => r.LastReason.ShouldBe("endpoint deleted"));
        var listed = (await s.Viewer.Get<JsonElement>("/api/endpoints?limit=1000")).EnumerateArray().Single(e => e.GetProperty("name").GetString() == s.Endpoint);
        listed.GetProperty("deleted").GetBoolean().ShouldBeTrue();
        listed.TryGetProperty("served", out _).ShouldBeFalse("a list row carries no serving history");

        await s.CreateEndpoint();
        var recreated = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}");
        recreated.Deleted.ShouldBeFalse();
        recreated.Revision.ShouldBeGreaterThan(deleted.Revision);
        (await s.RollOut(v1)).EnsureSuccessStatusCode();
    }
}
