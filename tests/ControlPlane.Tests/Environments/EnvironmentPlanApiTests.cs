using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Environments;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Environments;

/// <summary><c>GET /api/environment/plan?asOf=</c>: what existed at a moment, computed from the events.</summary>
public sealed class EnvironmentPlanApiTests(ControlPlaneFixture fx)
{
    private readonly HttpClient _admin = fx.Client(Roles.Admin, "ada");

    [Fact]
    public async Task Given_a_canary_later_promoted_When_planned_as_of_the_canary_and_now_Then_each_plan_has_the_split_and_artifacts_of_its_moment()
    {
        var s = new Scenario(fx);
        var (v1, v2) = await s.ServingV1Async();
        (await s.RollOut(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 0), new CanaryStep(50, 0)]))).EnsureSuccessStatusCode();
        var canary = (await _admin.Get<EnvironmentPlan>("/api/environment/plan")).UntilSequence;
        (await s.Operator.Send("/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), s.Endpoint))).EnsureSuccessStatusCode();

        var then = await _admin.Get<EnvironmentPlan>($"/api/environment/plan?asOf={canary}");
        var now = await _admin.Get<EnvironmentPlan>("/api/environment/plan");

        then.UntilSequence.ShouldBe(canary);
        now.UntilSequence.ShouldBeGreaterThan(canary);
        var before = then.Endpoints.Single(e => e.Name == s.Endpoint);
        before.Versions.Select(v => (v.Version, v.Weight)).ShouldBe([(v1, 90), (v2, 10)], ignoreOrder: true);
        before.Rollout.ShouldNotBeNull().Version.ShouldBe(v2);
        before.Rollout.Step.ShouldBe(0);
        (before.MinReplicas, before.MaxReplicas).ShouldBe((1, 3));
        var after = now.Endpoints.Single(e => e.Name == s.Endpoint);
        after.Versions.Where(v => v.Weight > 0).Select(v => (v.Version, v.Weight)).ShouldBe([(v2, 100)]);
        after.Rollout.ShouldBeNull();
        var mine = then.Artifacts.Where(a => a.Of.StartsWith(s.Model + "@", StringComparison.Ordinal) || a.Sha256 == s.DatasetSha).ToList();
        mine.Select(a => (a.Kind, a.Of)).ShouldBe([("model", $"{s.Model}@{v1}"), ("dataset", "ratings"), ("model", $"{s.Model}@{v2}")], ignoreOrder: true);
        mine.Single(a => a.Kind == "dataset").Uri.ShouldBe("file:///data/u.data");
    }

    [Fact]
    public async Task Given_an_endpoint_created_later_When_planned_as_of_a_time_before_it_Then_it_is_not_in_the_plan()
    {
        var before = DateTimeOffset.UtcNow;
        await Task.Delay(50, TestContext.Current.CancellationToken);
        var s = new Scenario(fx);
        await s.ServingV1Async();

        var plan = await _admin.Get<EnvironmentPlan>($"/api/environment/plan?asOf={Uri.EscapeDataString(before.ToString("O"))}");

        plan.Endpoints.ShouldNotContain(e => e.Name == s.Endpoint);
        plan.UntilTime.ShouldBeLessThanOrEqualTo(before);
    }

    [Theory]
    [InlineData("999999999999", 400, "past the last event")]
    [InlineData("0", 400, "before the first event")]
    [InlineData("yesterday", 400, "neither an ISO 8601 time")]
    public async Task Given_a_moment_outside_history_When_planned_Then_the_answer_says_why(string asOf, int status, string reason)
    {
        await new Scenario(fx).RegisterDataset(); // some history, whichever test runs first
        var response = await _admin.GetAsync($"/api/environment/plan?asOf={asOf}", TestContext.Current.CancellationToken);

        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        ((int)response.StatusCode).ShouldBe(status, body);
        body.ShouldContain(reason);
    }

    [Theory]
    [InlineData(Roles.Operator)]
    [InlineData(Roles.Viewer)]
    public async Task Given_a_non_admin_When_it_asks_for_a_plan_or_a_restore_Then_it_is_forbidden(string role)
    {
        using var client = fx.Client(role, "mallory");

        (await client.GetAsync("/api/environment/plan", TestContext.Current.CancellationToken)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await client.Send("/api/environment/restore", new RestoreEnvironment(Guid.NewGuid(), 1, new string('a', 64), "elsewhere")))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Given_a_store_whose_last_event_is_not_the_history_When_restored_Then_it_is_refused_and_nothing_is_appended()
    {
        await new Scenario(fx).RegisterDataset();
        var response = await _admin.Send("/api/environment/restore", new RestoreEnvironment(Guid.NewGuid(), 1, new string('a', 64), "elsewhere"));

        response.StatusCode.ShouldBe(HttpStatusCode.UnprocessableEntity);
        (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ShouldContain("restore right after importing that history");
        await using var session = fx.Store.QuerySession();
        (await session.Events.FetchStreamStateAsync(StreamKeys.Environment, TestContext.Current.CancellationToken)).ShouldBeNull();
    }
}
