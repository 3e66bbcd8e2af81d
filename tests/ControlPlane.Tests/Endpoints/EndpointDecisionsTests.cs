using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using static EventMlOps.ControlPlane.Tests.Endpoints.EndpointHistory;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Endpoints;

public class EndpointDecisionsTests
{
    private static RollOut RollOut(int v, RolloutStrategy? s = null) => new(Guid.NewGuid(), "rec", v, s ?? RolloutStrategy.Immediate);

    [Fact]
    public void Given_a_new_endpoint_When_rolling_out_immediately_Then_it_is_promoted_once_the_replica_serves_it()
    {
        var events = EndpointDecisions.RollOut(Given<EndpointState>(Created), Version(1), RollOut(1), R1, "olga", Now);
        events.ThenEvents(ServingV1[1]);
        var started = Given<EndpointState>([Created, .. events])!;
        started.Traffic.ShouldBe([new TrafficSplit(1, "file:///v1.onnx", new string('1', 64), 100)]);
        started.Rollout.ShouldNotBeNull("not promoted before a replica serves it");

        var observed = EndpointDecisions.RecordObserved(started, Serves(1, 1), "serve-rec", Now);
        observed.Last().ShouldBe(new RolloutPromoted("rec", R1, 1, "serve-rec", Now));
        var state = Given<EndpointState>([Created, .. events, .. observed])!;
        state.Rollout.ShouldBeNull();
        state.LastGood!.Version.ShouldBe(1);
    }

    [Fact]
    public void Given_v1_serving_When_v2_fails_to_load_Then_the_rollout_fails_and_v1_serves_again_as_the_fallback_said()
    {
        var serving = Given<EndpointState>([.. ServingV1, new EndpointStateObserved("rec", 2, true, null, Now, [new LoadedVersion(1, new string('1', 64), 100)])])!;
        var started = Given<EndpointState>([.. ServingV1, new EndpointStateObserved("rec", 2, true, null, Now, [new LoadedVersion(1, new string('1', 64), 100)]),
            .. EndpointDecisions.RollOut(serving, Version(2), RollOut(2), R2, "olga", Now)])!;
        started.Desired(DriftPolicy.Default, new Dictionary<int, ArtifactRef>()).Versions.Select(v => (v.Version, v.Weight)).ShouldBe([(2, 100), (1, 0)], "v1 is listed as the fallback");

        var report = new EndpointStatusReport(Guid.NewGuid(), "rec", started.Revision, false, "ncf@2: sha256 mismatch; serving fallback ncf@1",
            [new LoadedVersion(1, new string('1', 64), 100)]);
        var events = EndpointDecisions.RecordObserved(started, report, "serve-rec", Now);
        events.Last().ShouldBeOfType<RolloutFailed>().Reason.ShouldContain("ncf@2 did not load");
        var after = Given<EndpointState>([.. ServingV1, new EndpointStateObserved("rec", 2, true, null, Now, [new LoadedVersion(1, new string('1', 64), 100)]),
            .. EndpointDecisions.RollOut(serving, Version(2), RollOut(2), R2, "olga", Now), .. events])!;
        after.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(1, 100)]);
        after.Rollouts.Last().Outcome.ShouldBe("failed to load");
    }

    [Fact]
    public void Given_an_unapproved_version_When_rolling_out_Then_four_eyes_refuses_unless_the_endpoint_allows_it()
    {
        ThenRefused<Refused>(() => EndpointDecisions.RollOut(Given<EndpointState>(Created), Unapproved(1), RollOut(1), R1, "olga", Now), "four-eyes");
        ThenRefused<Refused>(() => EndpointDecisions.RollOut(Given<EndpointState>(Created), Unapproved(1, new ModelVersionApproved("ncf", 1, "Alice ", null, Now)),
            RollOut(1), R1, "olga", Now), "four-eyes");
        EndpointDecisions.RollOut(Given<EndpointState>(Created with { AllowUnapproved = true }), Unapproved(1), RollOut(1), R1, "olga", Now)
            .Single().ShouldBeOfType<RolloutStarted>();
    }

    [Fact]
    public void Given_v1_serving_When_a_canary_of_v2_starts_Then_traffic_splits_90_10()
    {
        EndpointDecisions.RollOut(Given<EndpointState>(ServingV1), Version(2), RollOut(2, Canary), R2, "olga", Now).ThenEvents(CanaryOfV2[^1]);
        Given<EndpointState>(CanaryOfV2)!.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(1, 90), (2, 10)]);
    }

    [Fact]
    public void Given_a_rollout_in_progress_When_another_rollout_is_asked_Then_one_at_a_time_refuses() =>
        ThenRefused<Refused>(() => EndpointDecisions.RollOut(Given<EndpointState>(CanaryOfV2), Version(3), RollOut(3), Guid.NewGuid(), "olga", Now), "in progress");

    [Fact]
    public void Given_an_archived_version_When_rolling_out_Then_it_is_refused() =>
        ThenRefused<Refused>(() => EndpointDecisions.RollOut(Given<EndpointState>(ServingV1),
            Version(2, new ModelVersionStageChanged("ncf", 2, ModelStage.None, ModelStage.Archived, "bob", Now)), RollOut(2), R2, "olga", Now), "archived");

    [Fact]
    public void Given_nothing_served_When_a_canary_is_asked_Then_it_needs_a_stable_version() =>
        ThenRefused<Refused>(() => EndpointDecisions.RollOut(Given<EndpointState>(Created), Version(1), RollOut(1, Canary), R1, "olga", Now), "stable version");

    [Fact]
    public void Given_falling_canary_weights_When_rolling_out_Then_the_step_is_named() =>
        ThenRefused<InvalidField>(() => EndpointDecisions.RollOut(Given<EndpointState>(ServingV1), Version(2),
            RollOut(2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(50, 1), new CanaryStep(10, 1)])), R2, "olga", Now), "strategy.steps[1].weight");

    [Fact]
    public void Given_a_canary_at_its_first_step_When_advanced_twice_Then_it_moves_to_50_then_promotes()
    {
        var advanced = new RolloutStepAdvanced("rec", R2, 1, 50, Now);
        EndpointDecisions.Advance(Given<EndpointState>(CanaryOfV2), new AdvanceRollout(Guid.NewGuid(), "rec", R2), "agent", Now).ThenEvents(advanced);
        EndpointDecisions.Advance(Given<EndpointState>([.. CanaryOfV2, advanced]), new AdvanceRollout(Guid.NewGuid(), "rec", R2), "agent", Now)
            .ThenEvents(new RolloutPromoted("rec", R2, 2, "agent", Now));
    }

    [Fact]
    public void Given_a_canary_When_an_order_for_an_older_rollout_arrives_Then_nothing_happens() =>
        EndpointDecisions.Advance(Given<EndpointState>(CanaryOfV2), new AdvanceRollout(Guid.NewGuid(), "rec", R1), "agent", Now).ThenEvents();

    [Fact]
    public void Given_a_canary_When_promoted_Then_v2_takes_all_traffic_and_v1_stops_serving()
    {
        var promoted = new RolloutPromoted("rec", R2, 2, "olga", Now.AddMinutes(5));
        EndpointDecisions.Promote(Given<EndpointState>(CanaryOfV2), new PromoteRollout(Guid.NewGuid(), "rec"), "olga", Now.AddMinutes(5)).ThenEvents(promoted);
        var state = Given<EndpointState>([.. CanaryOfV2, promoted])!;
        state.Traffic.Single().Version.ShouldBe(2);
        state.Served.Single(p => p.Version == 1).To.ShouldBe(Now.AddMinutes(5));
        state.Rollout.ShouldBeNull();
    }

    [Fact]
    public void Given_a_canary_When_aborted_Then_v1_takes_all_traffic_back()
    {
        var aborted = new RolloutAborted("rec", R2, 2, "p95 breach", "olga", Now);
        EndpointDecisions.Abort(Given<EndpointState>(CanaryOfV2), new AbortRollout(Guid.NewGuid(), "rec", "p95 breach"), "olga", Now).ThenEvents(aborted);
        var state = Given<EndpointState>([.. CanaryOfV2, aborted])!;
        state.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(1, 100)]);
        state.Rollouts[^1].Outcome.ShouldBe("aborted");
    }

    [Fact]
    public void Given_no_rollout_When_promoting_Then_it_is_refused() =>
        ThenRefused<Refused>(() => EndpointDecisions.Promote(Given<EndpointState>(ServingV1), new PromoteRollout(Guid.NewGuid(), "rec"), "olga", Now), "no rollout");

    [Fact]
    public void Given_v2_promoted_over_v1_When_rolling_back_Then_v1_serves_again()
    {
        var state = Given<EndpointState>([.. CanaryOfV2, new RolloutPromoted("rec", R2, 2, "olga", Now.AddMinutes(1))])!;
        EndpointDecisions.PreviousVersion(state).ShouldBe(1);
        EndpointDecisions.Rollback(state, Version(1), new Rollback(Guid.NewGuid(), "rec", "bad recs"), "olga", Now.AddMinutes(2))
            .ThenEvents(new EndpointRolledBack("rec", 2, 1, "file:///v1.onnx", new string('1', 64), "bad recs", "olga", Now.AddMinutes(2)));
    }

    [Fact]
    public void Given_only_one_version_ever_served_When_rolling_back_Then_there_is_nothing_earlier() =>
        ThenRefused<Refused>(() => EndpointDecisions.Rollback(Given<EndpointState>(ServingV1), null, new Rollback(Guid.NewGuid(), "rec", "x"), "olga", Now), "no earlier version");

    [Fact]
    public void Given_an_existing_endpoint_When_creating_it_again_Then_it_is_refused() =>
        ThenRefused<Refused>(() => EndpointDecisions.Create(Given<EndpointState>(Created), true, new CreateEndpoint(Guid.NewGuid(), "rec", "ncf"), "olga", Now), "already exists");

    [Fact]
    public void Given_a_replica_that_restarted_When_it_is_reported_waiting_Then_the_reason_is_recorded_and_restarts_stay_counted()
    {
        const string pull = "ImagePullBackOff: Back-off pulling image \"registry.local/emo-serve:1.2\"";
        var waiting = EndpointDecisions.RecordReplica(Given<EndpointState>(ServingV1),
            new ReplicaChangeReport(Guid.NewGuid(), "rec", "serve-rec", ReplicaChange.Waiting, "kubernetes", null, pull), Now.AddSeconds(3));
        waiting.ThenEvents(new EndpointReplicaChanged("rec", "serve-rec", ReplicaChange.Waiting, "kubernetes", null, pull, null, Now.AddSeconds(3)));

        var status = Given<EndpointStatus>([.. ServingV1,
            new EndpointReplicaChanged("rec", "serve-rec", ReplicaChange.Started, "kubernetes", "http://serve-rec:8080", null, null, Now.AddSeconds(1)),
            new EndpointReplicaChanged("rec", "serve-rec", ReplicaChange.Restarted, "kubernetes", "http://serve-rec:8080", "OOMKilled", 137, Now.AddSeconds(2)),
            .. waiting])!;
        status.Replicas.ShouldBe([new ReplicaState("serve-rec", "kubernetes", "http://serve-rec:8080", 1, ReplicaChange.Waiting, pull, null, Now.AddSeconds(3))]);
    }

    [Fact]
    public void Given_a_replica_recorded_running_When_it_is_reported_started_again_Then_nothing_is_recorded_until_it_stopped()
    {
        ReplicaChangeReport Report(ReplicaChange change) => new(Guid.NewGuid(), "rec", "serve-rec-7f9c", change, "kubernetes", "http://10.0.0.7:8080/");
        var started = new EndpointReplicaChanged("rec", "serve-rec-7f9c", ReplicaChange.Started, "kubernetes", "http://10.0.0.7:8080/", null, null, Now);
        var restarted = started with { Change = ReplicaChange.Restarted, Reason = "OOMKilled, exit code 137", ExitCode = 137 };
        var stopped = started with { Change = ReplicaChange.Stopped, Reason = "the pod is gone" };

        // An agent that restarted finds the pod serving and reports it started: it started long before.
        EndpointDecisions.RecordReplica(Given<EndpointState>([.. ServingV1, started]), Report(ReplicaChange.Started), Now.AddMinutes(5)).ThenEvents();
        EndpointDecisions.RecordReplica(Given<EndpointState>([.. ServingV1, started, restarted]), Report(ReplicaChange.Started), Now.AddMinutes(5)).ThenEvents();
        EndpointDecisions.RecordReplica(Given<EndpointState>([.. ServingV1, started, stopped]), Report(ReplicaChange.Started), Now.AddMinutes(5))
            .ThenEvents(started with { ChangedAt = Now.AddMinutes(5) });
        // Started elsewhere (a local replica on another port) is a new start.
        EndpointDecisions.RecordReplica(Given<EndpointState>([.. ServingV1, started]), Report(ReplicaChange.Started) with { Url = "http://10.0.0.9:8080/" }, Now.AddMinutes(5))
            .ThenEvents(started with { Url = "http://10.0.0.9:8080/", ChangedAt = Now.AddMinutes(5) });
    }

    [Fact]
    public void Given_an_endpoint_When_a_replica_reason_is_overlong_Then_it_is_refused_without_being_echoed()
    {
        var refused = ThenRefused<InvalidField>(() => EndpointDecisions.RecordReplica(Given<EndpointState>(ServingV1), new ReplicaChangeReport(Guid.NewGuid(), "rec",
            "serve-rec", ReplicaChange.Waiting, "kubernetes", null, new string('x', ReplicaChangeReport.MaxReasonLength + 1)), Now), "at most 1000");
        refused.Field.ShouldBe("reason");
        refused.Message.ShouldNotContain("xxxx");
    }
}
