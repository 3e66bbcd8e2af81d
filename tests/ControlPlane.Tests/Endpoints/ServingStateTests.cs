using System.Diagnostics;
using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.ControlPlane.Tests.Endpoints;

/// <summary>The control plane's side of a serving process: the desired-state long poll and the observed-state facts.</summary>
public class ServingStateTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_a_serving_process_waiting_on_its_revision_When_a_rollout_changes_the_endpoint_Then_the_long_poll_answers_with_the_new_desired_state()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun());
        await s.CreateEndpoint();
        var serving = fx.Client(Roles.Agent, "serving");

        var initial = await serving.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired");
        initial.Revision.ShouldBe(0);
        initial.Versions.ShouldBeEmpty();

        var clock = Stopwatch.StartNew();
        var waiting = serving.GetAsync($"/api/endpoints/{s.Endpoint}/desired?after=0&waitSeconds=20", Ct);
        await Task.Delay(300, Ct);
        waiting.IsCompleted.ShouldBeFalse("nothing changed yet: the poll waits");
        (await s.RollOut(v1)).EnsureSuccessStatusCode();
        var changed = await (await waiting).Read<ApplyEndpoint>();

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        changed.Revision.ShouldBeGreaterThanOrEqualTo(1, "the rollout (1), or already its promotion by the replica's report (2)");
        var served = changed.Versions.Single();
        (served.ModelName, served.Version, served.Weight).ShouldBe((s.Model, v1, 100));
        served.ArtifactSha256.ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Given_a_serving_process_waiting_on_its_revision_When_the_control_plane_stops_Then_the_poll_answers_204_and_the_stop_does_not_wait_for_it()
    {
        await using var controlPlane = await fx.StartAsync("emo_stopping");
        using var client = new HttpClient { BaseAddress = new Uri(controlPlane.Urls.First()) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", fx.Tokens.Issue("serving", [Roles.Agent, Roles.Operator], TimeSpan.FromHours(1)));
        await using (var session = controlPlane.Services.GetRequiredService<Marten.IDocumentStore>().LightweightSession())
        {
            session.Events.StartStream<ControlPlane.Registry.ModelVersion>(StreamKeys.ModelVersion("m", 1), new ControlPlane.Registry.ModelVersionRegistered("m", 1, Guid.NewGuid(),
                new ControlPlane.Registry.ModelArtifact("file:///m.onnx", new string('a', 64)), Guid.NewGuid(), new string('b', 64), new Dictionary<string, double>(), "alice", DateTimeOffset.UtcNow));
            await session.SaveChangesAsync(Ct);
        }
        (await client.Send("/api/endpoints", new CreateEndpoint(Guid.NewGuid(), "stopping", "m"))).EnsureSuccessStatusCode();
        var waiting = client.GetAsync("/api/endpoints/stopping/desired?after=0&waitSeconds=60", Ct);
        await Task.Delay(300, Ct);

        var clock = Stopwatch.StartNew();
        await controlPlane.StopAsync(Ct);

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "an open poll must not hold the host until its shutdown timeout (30 s)");
        (await waiting).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Given_no_change_within_the_wait_When_polling_Then_204()
    {
        var s = new Scenario(fx);
        await s.CreateEndpoint();
        var response = await fx.Client(Roles.Agent, "serving").GetAsync($"/api/endpoints/{s.Endpoint}/desired?after=0&waitSeconds=1", Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Theory]
    [InlineData("after=-1", "after")]
    [InlineData("waitSeconds=500", "waitSeconds")]
    public async Task Given_bad_poll_parameters_When_polling_Then_400_names_the_field(string query, string field)
    {
        var s = new Scenario(fx);
        await s.CreateEndpoint();
        var problem = await (await fx.Client(Roles.Agent, "serving").GetAsync($"/api/endpoints/{s.Endpoint}/desired?{query}", Ct)).Problem(400);
        problem.GetProperty("detail").GetString()!.ShouldContain(field);
    }

    [Fact]
    public async Task Given_an_unknown_endpoint_When_polling_Then_404()
    {
        var response = await fx.Client(Roles.Agent, "serving").GetAsync("/api/endpoints/nope-never/desired?waitSeconds=0", Ct);
        await response.Problem(404);
    }

    [Fact]
    public async Task Given_a_serving_report_When_it_is_posted_Then_the_endpoint_shows_what_is_loaded_and_a_resend_appends_nothing()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun());
        await s.CreateEndpoint();
        (await s.RollOut(v1)).EnsureSuccessStatusCode();
        var desired = await s.Viewer.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired");
        var serving = s.Replica;

        var report = new EndpointStatusReport(Guid.NewGuid(), s.Endpoint, desired.Revision, Ready: true, Message: null,
            Loaded: [new LoadedVersion(v1, desired.Versions[0].ArtifactSha256, 100)]);
        (await serving.Send("/api/endpoints/facts/observed", report)).EnsureSuccessStatusCode();
        (await serving.Send("/api/endpoints/facts/observed", report)).EnsureSuccessStatusCode();

        var endpoint = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}");
        endpoint.Ready.ShouldBe(true);
        endpoint.ObservedRevision.ShouldBe(desired.Revision);
        endpoint.ObservedLoaded!.Single().ShouldBe(new LoadedVersion(v1, desired.Versions[0].ArtifactSha256, 100));
        await using var session = fx.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(StreamKeys.Endpoint(s.Endpoint), token: Ct);
        events.Count(e => e.Data is EndpointStateObserved).ShouldBe(2, "the report that promoted the rollout, then this one, once");
        events.Last(e => e.Data is EndpointStateObserved).UserName.ShouldBe($"serve-{s.Endpoint}");
        // What replicas report is its own view of the stream, and travels in time with the endpoint: before the first
        // report nothing was known to be loaded.
        var before = events.First(e => e.Data is EndpointStateObserved).Sequence - 1;
        var then = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}?asOf={before}");
        (then.Ready, then.ObservedLoaded).ShouldBe(((bool?)null, (IReadOnlyList<LoadedVersion>?)null));
        then.Rollout.ShouldNotBeNull("the rollout was not yet promoted by a report either");
    }

    [Fact]
    public async Task Given_a_viewer_When_it_reports_observed_state_Then_403()
    {
        var s = new Scenario(fx);
        await s.CreateEndpoint();
        var response = await s.Viewer.Send("/api/endpoints/facts/observed", new EndpointStatusReport(Guid.NewGuid(), s.Endpoint, 0, true));
        await response.Problem(403);
    }
}
