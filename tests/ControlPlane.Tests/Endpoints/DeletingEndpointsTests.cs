using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using static EventMlOps.ControlPlane.Tests.Endpoints.EndpointHistory;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Endpoints;

public class DeletingEndpointsTests
{
    private static readonly DateTimeOffset Later = Now.AddMinutes(10);
    private static readonly EndpointDeleted Deleted = new("rec", "retired", "olga", Later);
    private static readonly object[] DeletedDuringCanary = [.. CanaryOfV2, Deleted];

    [Fact]
    public void Given_a_canary_in_flight_When_the_endpoint_is_deleted_Then_the_rollout_ends_nothing_is_served_and_the_revision_grows()
    {
        EndpointDecisions.Delete(Given<EndpointState>(CanaryOfV2), new DeleteEndpoint(Guid.NewGuid(), "rec", "retired"), "olga", Later).ThenEvents(Deleted);

        var before = Given<EndpointState>(CanaryOfV2)!;
        var state = Given<EndpointState>(DeletedDuringCanary)!;
        state.Deleted.ShouldBeTrue();
        state.Traffic.ShouldBeEmpty();
        state.Rollout.ShouldBeNull();
        state.Rollouts[^1].ShouldBe(new RolloutOutcome(R2, 2, RolloutKind.Canary, "aborted", "olga", Now, Later, "endpoint deleted"));
        state.Served.ShouldAllBe(p => p.To == Later);
        state.Revision.ShouldBeGreaterThan(before.Revision);
        state.Desired(DriftPolicy.Default, new Dictionary<int, ArtifactRef>()).ShouldSatisfyAllConditions(
            d => d.Deleted.ShouldBeTrue(), d => d.Versions.ShouldBeEmpty(), d => d.Canary.ShouldBeNull(), d => d.Revision.ShouldBe(state.Revision));
    }

    [Theory]
    [InlineData("rollout")]
    [InlineData("promote")]
    [InlineData("abort")]
    [InlineData("rollback")]
    [InlineData("delete")]
    public void Given_a_deleted_endpoint_When_any_command_but_create_arrives_Then_it_is_refused_with_when(string command)
    {
        var state = Given<EndpointState>(DeletedDuringCanary);
        Func<object> when = command switch
        {
            "rollout" => () => EndpointDecisions.RollOut(state, Version(3), new RollOut(Guid.NewGuid(), "rec", 3, RolloutStrategy.Immediate), Guid.NewGuid(), "olga", Later),
            "promote" => () => EndpointDecisions.Promote(state, new PromoteRollout(Guid.NewGuid(), "rec"), "olga", Later),
            "abort" => () => EndpointDecisions.Abort(state, new AbortRollout(Guid.NewGuid(), "rec", "x"), "olga", Later),
            "rollback" => () => EndpointDecisions.Rollback(state, Version(1), new Rollback(Guid.NewGuid(), "rec", "x"), "olga", Later),
            _ => () => EndpointDecisions.Delete(state, new DeleteEndpoint(Guid.NewGuid(), "rec", "again"), "olga", Later),
        };
        ThenRefused<Refused>(when, "endpoint 'rec' was deleted at 2026-11-28 12:10:00Z");
    }

    [Fact]
    public void Given_a_deleted_endpoint_When_it_is_created_again_Then_it_lives_with_a_revision_that_keeps_growing_and_its_history()
    {
        var recreated = new EndpointCreated("rec", "ncf", 2, 4, "olga", Later.AddMinutes(1));
        EndpointDecisions.Create(Given<EndpointState>(DeletedDuringCanary), true, new CreateEndpoint(Guid.NewGuid(), "rec", "ncf", 2, 4), "olga", Later.AddMinutes(1))
            .ThenEvents(recreated);

        var deleted = Given<EndpointState>(DeletedDuringCanary)!;
        var state = Given<EndpointState>([.. DeletedDuringCanary, recreated])!;
        state.Deleted.ShouldBeFalse();
        state.Revision.ShouldBeGreaterThan(deleted.Revision, "serving processes must not take the new endpoint's state for a stale one");
        (state.MinReplicas, state.MaxReplicas, state.CreatedAt).ShouldBe((2, 4, Later.AddMinutes(1)));
        state.Served.ShouldBe(deleted.Served);
        state.Rollouts.ShouldBe(deleted.Rollouts);
    }

    [Fact]
    public void Given_a_deleted_endpoint_When_it_is_created_again_for_another_model_Then_the_old_models_history_does_not_follow() =>
        Given<EndpointState>([.. DeletedDuringCanary, new EndpointCreated("rec", "other", 1, 1, "olga", Later)])!
            .ShouldSatisfyAllConditions(s => s.Served.ShouldBeEmpty(), s => s.Rollouts.ShouldBeEmpty(), s => s.ModelName.ShouldBe("other"));

    [Fact]
    public void Given_a_deleted_endpoint_When_its_replica_reports_it_stopped_Then_the_fact_is_recorded()
    {
        var fact = new ReplicaChangeReport(Guid.NewGuid(), "rec", "serve-rec", ReplicaChange.Stopped, "local", null, "endpoint deleted");
        EndpointDecisions.RecordReplica(Given<EndpointState>(DeletedDuringCanary), fact, Later.AddSeconds(2))
            .ThenEvents(new EndpointReplicaChanged("rec", "serve-rec", ReplicaChange.Stopped, "local", null, "endpoint deleted", null, Later.AddSeconds(2)));
    }

    [Fact]
    public void Given_a_replica_When_it_starts_dies_twice_and_stops_Then_the_state_counts_restarts_and_keeps_the_last_change()
    {
        EndpointReplicaChanged Change(ReplicaChange change, int seconds, string? url = null, string? reason = null, int? exit = null) =>
            new("rec", "serve-rec", change, "local", url, reason, exit, Now.AddSeconds(seconds));
        var state = Given<EndpointStatus>([
            .. ServingV1,
            Change(ReplicaChange.Started, 1, "http://127.0.0.1:5001"),
            Change(ReplicaChange.Restarted, 2, "http://127.0.0.1:5002", "exited", 137),
            Change(ReplicaChange.Restarted, 3, "http://127.0.0.1:5003", "exited", 139),
            new EndpointReplicaChanged("rec", "serve-rec-2", ReplicaChange.Started, "local", "http://127.0.0.1:6001", null, null, Now.AddSeconds(4)),
            Change(ReplicaChange.Stopped, 5, reason: "scaled in"),
        ])!;

        state.Replicas.ShouldBe([
            new ReplicaState("serve-rec", "local", "http://127.0.0.1:5003", 2, ReplicaChange.Stopped, "scaled in", null, Now.AddSeconds(5)),
            new ReplicaState("serve-rec-2", "local", "http://127.0.0.1:6001", 0, ReplicaChange.Started, null, null, Now.AddSeconds(4)),
        ]);
    }

    [Fact]
    public void Given_an_unknown_endpoint_When_a_replica_fact_arrives_Then_it_is_not_found() =>
        ThenRefused<NotFound>(() => EndpointDecisions.RecordReplica(null,
            new ReplicaChangeReport(Guid.NewGuid(), "rec", "serve-rec", ReplicaChange.Started, "local", "http://x"), Now), "endpoint 'rec'");
}
