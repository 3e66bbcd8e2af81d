using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.Hosting;
using Marten;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>What the HTTP API promises about commands: conflicts are detected, duplicates append nothing,
/// strangers and bad input are refused with a reason and leave the store untouched.</summary>
public class CommandingTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_two_concurrent_canaries_on_one_endpoint_When_both_roll_out_Then_exactly_one_wins()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun());
        var v2 = await s.RegisteredVersion(await s.TrainedRun());
        var v3 = await s.RegisteredVersion(await s.TrainedRun());
        await s.CreateEndpoint();
        (await s.RollOut(v1)).EnsureSuccessStatusCode();
        var canary = new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 30)]);

        var responses = await Task.WhenAll(s.RollOut(v2, canary), s.RollOut(v3, canary));

        responses.Count(r => r.IsSuccessStatusCode).ShouldBe(1);
        var loser = responses.Single(r => !r.IsSuccessStatusCode);
        ((int)loser.StatusCode).ShouldBeOneOf(409, 422);
        (await loser.Content.ReadAsStringAsync()).ShouldContain(loser.StatusCode == HttpStatusCode.Conflict ? "changed" : "in progress");
        await using var session = fx.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(StreamKeys.Endpoint(s.Endpoint), token: Ct);
        events.Count(e => e.Data is RolloutStarted).ShouldBe(2, "the immediate v1 and exactly one canary");
    }

    [Fact]
    public async Task Given_a_stale_expected_version_When_rolling_out_Then_409_names_the_conflict_and_nothing_is_appended()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun());
        var v2 = await s.RegisteredVersion(await s.TrainedRun());
        await s.CreateEndpoint();
        var seen = (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).StreamVersion;
        seen.ShouldBe(1);
        (await s.RollOut(v1, expectedVersion: seen)).EnsureSuccessStatusCode();

        var problem = await (await s.RollOut(v2, expectedVersion: seen)).Problem(409);

        problem.GetProperty("detail").GetString()!.ShouldContain("changed");
        problem.GetProperty("currentVersion").GetInt64().ShouldBe(4, "created, started, observed served, promoted");
        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Traffic.Single().Version.ShouldBe(v1);
    }

    [Fact]
    public async Task Given_the_same_command_sent_twice_When_both_arrive_Then_one_set_of_events_and_the_second_says_duplicate()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();

        var first = await (await s.Scientist.Send("/api/runs", request)).Read<CommandAccepted>();
        var again = await (await s.Scientist.Send("/api/runs", request)).Read<CommandAccepted>();
        var cancel = new CancelTraining(Guid.NewGuid(), request.RunId, "asked twice at once");
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => s.Scientist.Send("/api/runs/cancel", cancel)));

        first.Duplicate.ShouldBeFalse();
        again.Duplicate.ShouldBeTrue();
        foreach (var r in concurrent)
            r.StatusCode.ShouldBe(HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        await using var session = fx.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(StreamKeys.Run(request.RunId), token: Ct);
        events.Select(e => e.Data.GetType().Name).ShouldBe(["TrainingRunRequested", "TrainingRunCancelled"]);
    }

    [Fact]
    public async Task Given_no_or_a_foreign_token_or_the_wrong_role_When_commanding_Then_401_or_403_and_nothing_is_appended()
    {
        var dataset = new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), "sneaky", "file:///x", new string('a', 64), "csv", 1, []);
        var foreign = new Auth.Tokens(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).Issue("mallory", [Roles.Admin], TimeSpan.FromHours(1));

        (await (await fx.Client().Send("/api/datasets", dataset)).Problem(401)).GetProperty("detail").GetString()!.ShouldContain("no bearer token");
        (await (await fx.Client(foreign).Send("/api/datasets", dataset)).Problem(401)).GetProperty("detail").GetString()!.ShouldContain("signature");
        var forbidden = await (await fx.Client(Roles.Viewer, "victor").Send("/api/datasets", dataset)).Problem(403);
        forbidden.GetProperty("detail").GetString()!.ShouldContain("scientist");
        (await fx.Client().GetAsync("/api/datasets", Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        await using var session = fx.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync(StreamKeys.Dataset(dataset.DatasetId), Ct)).ShouldBeNull();
        (await session.LoadAsync<HandledCommand>(dataset.CommandId, Ct)).ShouldBeNull("a refused command id stays usable");
    }

    [Fact]
    public async Task Given_bad_input_When_commanding_Then_each_gets_a_problem_with_its_reason()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();

        var malformed = await (await s.Scientist.PostAsync("/api/runs", new StringContent("{\"commandId\": \"not-a-guid\"", Encoding.UTF8, "application/json"), Ct)).Problem(400);
        malformed.GetProperty("title").GetString().ShouldBe("Malformed JSON");
        malformed.GetProperty("field").GetString()!.ShouldContain("commandId");

        var missing = await (await s.Scientist.PostAsync("/api/runs", new StringContent("{\"commandId\": \"" + Guid.NewGuid() + "\"}", Encoding.UTF8, "application/json"), Ct)).Problem(400);
        missing.GetProperty("detail").GetString().ShouldNotBeNullOrWhiteSpace();

        var negative = s.Request() with { Hyperparameters = new Dictionary<string, double> { ["lr"] = -0.1 } };
        var invalid = await (await s.Scientist.Send("/api/runs", negative)).Problem(400);
        invalid.GetProperty("field").GetString().ShouldBe("hyperparameters.lr");

        var unknownDataset = await (await s.Scientist.Send("/api/runs", s.Request() with { DatasetId = Guid.NewGuid() })).Problem(404);
        unknownDataset.GetProperty("title").GetString().ShouldBe("Unknown dataset");

        await s.CreateEndpoint();
        var unknownVersion = await (await s.RollOut(42)).Problem(404);
        unknownVersion.GetProperty("detail").GetString()!.ShouldContain($"{s.Model}@42");

        (await s.Viewer.GetAsync("/api/models/no-such-model", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        await using var session = fx.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync(StreamKeys.Run(negative.RunId), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Given_the_openapi_document_When_fetched_Then_every_command_route_is_described()
    {
        using var anonymous = fx.Client();
        var doc = await anonymous.GetStringAsync("/openapi/v1.json", Ct);
        foreach (var route in new[] { "/api/datasets", "/api/runs", "/api/models/versions/approve", "/api/endpoints/rollout", "/api/lineage/endpoints/{name}" })
            doc.ShouldContain($"\"{route}\"");
    }

    [Fact]
    public async Task Given_a_correlation_header_When_a_command_runs_Then_its_events_carry_actor_correlation_and_causation()
    {
        var s = new Scenario(fx);
        var correlation = "corr-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/datasets");
        var command = new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), "traced", "file:///data/t.csv", new string('b', 64), "csv", 3, []);
        request.Content = System.Net.Http.Json.JsonContent.Create(command, options: ControlPlaneFixture.Json);
        request.Headers.Add("X-Correlation-Id", correlation);
        request.Headers.Authorization = s.Scientist.DefaultRequestHeaders.Authorization;
        (await s.Scientist.SendAsync(request, Ct)).EnsureSuccessStatusCode();

        await using var session = fx.Store.QuerySession();
        var e = (await session.Events.FetchStreamAsync(StreamKeys.Dataset(command.DatasetId), token: Ct)).Single();
        (e.UserName, e.CorrelationId, e.CausationId).ShouldBe(("alice", correlation, command.CommandId.ToString()));
    }
}
