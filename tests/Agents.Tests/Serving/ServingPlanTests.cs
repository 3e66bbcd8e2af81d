using EventMlOps.Agents.Serving;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Agents.Tests.Serving;

/// <summary>The serving plan, given what the runtime holds and when a work order arrives: then create, update, nothing
/// or delete, within the endpoint's replica bounds and the runtime's own limit.</summary>
public sealed class ServingPlanTests
{
    private static readonly ServedVersion V1 = new("rec", 1, "file:///a/model.onnx", new string('a', 64), 100);

    private static ApplyEndpoint Order(long revision, int min = 1, int max = 1, bool deleted = false, bool versions = true) =>
        new("rec-ep", revision, versions && !deleted ? [V1] : [], min, max, Deleted: deleted);

    private static ObservedEndpoint Holds(long revision, int replicas = 1, bool deleted = false) =>
        new("rec-ep", revision, deleted, [.. Enumerable.Range(0, replicas).Select(i => new RunningReplica(new Uri($"http://127.0.0.1:{9000 + i}/"), DateTimeOffset.UnixEpoch))]);

    [Fact]
    public void Given_nothing_held_When_an_endpoint_with_a_version_is_ordered_Then_it_is_created_with_its_minimum_replicas() =>
        ServingPlan.Decide(Order(3, min: 2, max: 4), null, runtimeMax: 10).ShouldBe(new ServingStep(ServingAction.Create, 2, false, "2 of min 2, max 4 replicas"));

    [Fact]
    public void Given_a_minimum_of_zero_When_ordered_Then_one_replica_serves_because_nothing_scales_on_requests() =>
        ServingPlan.Decide(Order(1, min: 0, max: 3), null, 10).Replicas.ShouldBe(1);

    [Fact]
    public void Given_a_runtime_that_runs_one_replica_When_more_are_wanted_Then_it_runs_one_and_says_why()
    {
        var step = ServingPlan.Decide(Order(1, min: 3, max: 5), null, runtimeMax: 1);

        (step.Action, step.Replicas).ShouldBe((ServingAction.Create, 1));
        step.Reason.ShouldBe("3 replicas wanted (min 3, max 5); this runtime runs at most 1 per endpoint");
    }

    [Fact]
    public void Given_the_replicas_held_at_this_revision_When_the_same_order_comes_again_Then_nothing_is_done() =>
        ServingPlan.Decide(Order(4), Holds(4), 1).ShouldBe(new ServingStep(ServingAction.Nothing, 1, false, "1 of min 1, max 1 replicas"));

    [Fact]
    public void Given_replicas_held_at_an_older_revision_When_a_newer_order_comes_Then_it_is_an_update() =>
        ServingPlan.Decide(Order(5), Holds(4), 1).Action.ShouldBe(ServingAction.Update);

    [Fact]
    public void Given_a_replica_that_died_When_the_order_comes_again_Then_it_is_an_update_to_the_wanted_count() =>
        ServingPlan.Decide(Order(4), Holds(4, replicas: 0), 1).ShouldBe(new ServingStep(ServingAction.Update, 1, false, "1 of min 1, max 1 replicas"));

    [Fact]
    public void Given_more_replicas_than_the_maximum_When_ordered_Then_they_are_scaled_down() =>
        ServingPlan.Decide(Order(4, min: 1, max: 2), Holds(4, replicas: 3), 10).ShouldBe(new ServingStep(ServingAction.Update, 1, false, "1 of min 1, max 2 replicas"));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Given_a_newer_revision_applied_When_an_older_order_arrives_Then_it_is_stale_and_changes_nothing(bool heldDeleted)
    {
        var step = ServingPlan.Decide(Order(6, deleted: !heldDeleted), Holds(7, replicas: heldDeleted ? 0 : 1, deleted: heldDeleted), 1);

        (step.Action, step.Stale).ShouldBe((ServingAction.Nothing, true));
        step.Reason.ShouldBe("revision 6 is older than the applied revision 7: ignored");
    }

    [Fact]
    public void Given_replicas_held_When_the_endpoint_is_deleted_Then_they_are_deleted_once()
    {
        ServingPlan.Decide(Order(8, deleted: true), Holds(7), 1).Action.ShouldBe(ServingAction.Delete);
        ServingPlan.Decide(Order(8, deleted: true), Holds(8, replicas: 0, deleted: true), 1).Action.ShouldBe(ServingAction.Nothing);
        ServingPlan.Decide(Order(8, deleted: true), null, 1).Action.ShouldBe(ServingAction.Nothing);
    }

    [Fact]
    public void Given_a_deleted_endpoint_When_it_is_created_again_at_a_newer_revision_Then_it_is_created() =>
        ServingPlan.Decide(Order(9), Holds(8, replicas: 0, deleted: true), 1).Action.ShouldBe(ServingAction.Create);

    [Theory]
    [InlineData(-5, -3)]
    [InlineData(int.MaxValue, 0)]
    [InlineData(0, int.MinValue)]
    public void Given_bounds_no_control_plane_would_accept_When_ordered_Then_one_replica_within_the_runtime_is_planned(int min, int max) =>
        ServingPlan.Decide(Order(1, min, max), null, runtimeMax: 1).Replicas.ShouldBe(1);

    [Fact]
    public void Given_an_endpoint_without_versions_When_ordered_Then_nothing_starts() =>
        ServingPlan.Decide(Order(1, versions: false), null, 1).Action.ShouldBe(ServingAction.Nothing);
}
