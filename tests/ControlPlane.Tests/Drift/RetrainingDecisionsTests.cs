using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Drift;

/// <summary>The closed loop's steps, given what happened: an alarm → a run; the run's approved version → a rollout.</summary>
public class RetrainingDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly string ShaA = new('a', 64), ShaB = new('b', 64);
    private static readonly Guid AlarmId = Guid.NewGuid(), FirstRun = Guid.NewGuid(), NewData = Guid.NewGuid();
    private static readonly Guid RetrainRun = RetrainingDecisions.RunId(AlarmId);
    private static readonly RolloutStrategy Canary = new(RolloutKind.Canary, [new CanaryStep(10, 60), new CanaryStep(50, 60)], RolloutAnalysis.Default);
    private static readonly Dictionary<string, double> Hyper = new() { ["epochs"] = 7, ["lr"] = 0.01 };

    private static readonly DriftDetected Alarm = new("shop", "ncf", 1, AlarmId, [], Now.AddMinutes(-10), Now.AddMinutes(-1), 2, "drift-agent", Now);

    private static ModelPolicy Policy(RolloutStrategy? rollout) =>
        Given<ModelPolicy>(new ModelPolicySet("ncf", DriftPolicy.Default, new RetrainingPolicy("ratings", rollout), "olga", Now.AddDays(-1)))!;

    private static readonly TrainingRun Behind = Given<TrainingRun>(new TrainingRunRequested(FirstRun, "ncf", "recommender", Guid.NewGuid(), "file:///old", ShaA,
        Hyper, new TrainingResources(2, 4096, 1), "git:abc", "alice", Now.AddDays(-2)))!;

    private static readonly Dataset Latest = Given<Dataset>(new DatasetRegistered(NewData, "ratings", "file:///new", ShaB, "csv", 10, [], "alice", Now.AddHours(-1)))!;

    private static (object[] OnLoop, object[] OnRun) Retrain(ModelPolicy? policy, RetrainingLoop? loop = null, TrainingRun? behind = null, TrainerCatalog? catalog = null) =>
        RetrainingDecisions.Retrain(loop, policy, Alarm, behind ?? Behind, Latest, catalog ?? TrainerCatalog.BuiltIn, Now);

    [Fact]
    public void Given_a_policy_that_retrains_When_drift_is_detected_Then_the_policys_author_requests_the_drifting_versions_training_on_the_latest_data()
    {
        var (onLoop, onRun) = Retrain(Policy(Canary));
        onLoop.ThenEvents(new RetrainingRequested(AlarmId, "shop", "ncf", 1, RetrainRun, NewData, "olga", Now));
        onRun.ThenEvents(new TrainingRunRequested(RetrainRun, "ncf", "recommender", NewData, "file:///new", ShaB, Hyper, new TrainingResources(2, 4096, 1),
            "git:abc", "olga", Now, new DriftTrigger(AlarmId, "shop", 1)));
    }

    [Fact]
    public void Given_an_alarm_already_handled_When_it_is_handled_again_Then_nothing_is_appended()
    {
        var loop = Given<RetrainingLoop>(Retrain(Policy(Canary)).OnLoop);
        Retrain(Policy(Canary), loop).ShouldBe(([], []));
        RetrainingDecisions.RunId(AlarmId).ShouldBe(RetrainRun, "one run id per alarm");
        RetrainingDecisions.RunId(Guid.NewGuid()).ShouldNotBe(RetrainRun);
    }

    [Fact]
    public void Given_no_retraining_in_the_policy_or_no_policy_When_drift_is_detected_Then_nothing_is_requested()
    {
        Retrain(Given<ModelPolicy>(new ModelPolicySet("ncf", DriftPolicy.Default, null, "olga", Now))).ShouldBe(([], []));
        Retrain(null).ShouldBe(([], []));
    }

    [Fact]
    public void Given_a_trainer_kind_no_longer_offered_When_drift_is_detected_Then_why_no_run_started_is_recorded()
    {
        var (onLoop, onRun) = Retrain(Policy(Canary), behind: Behind with { TrainerKind = "retired" });
        onRun.ShouldBeEmpty();
        var notStarted = onLoop.ShouldHaveSingleItem().ShouldBeOfType<RetrainingNotStarted>();
        notStarted.Reason.ShouldContain("trainerKind");
        RetrainingDecisions.View(Given<RetrainingLoop>(onLoop)!, null, null, null, true).State.ShouldBe(RetrainingStates.NotStarted);
    }

    // The rollout step: the retrained run's version, the endpoint serving the drifting one.

    private static RetrainingLoop Loop() => Given<RetrainingLoop>(Retrain(Policy(Canary)).OnLoop)!;

    private static ModelVersion Version(params string[] approvers) => Given<ModelVersion>([
        new ModelVersionRegistered("ncf", 2, RetrainRun, new ModelArtifact("file:///v2.onnx", ShaB), NewData, ShaB, new Dictionary<string, double>(), "registration-policy", Now,
            "olga", "recommender"),
        .. approvers.Select(a => new ModelVersionApproved("ncf", 2, a, null, Now)),
    ])!;

    private static readonly Guid FirstRollout = Guid.NewGuid();

    private static EndpointState Serving(params object[] more) => Given<EndpointState>([
        new EndpointCreated("shop", "ncf", 1, 1, "olga", Now.AddDays(-2)),
        new RolloutStarted("shop", FirstRollout, "ncf", 1, "file:///v1.onnx", ShaA, RolloutKind.Immediate, [], null, "olga", Now.AddDays(-2)),
        new RolloutPromoted("shop", FirstRollout, 1, "olga", Now.AddDays(-2)),
        .. more,
    ])!;

    private static readonly Guid ApprovalId = Guid.NewGuid();

    private static (object[] OnLoop, object[] OnEndpoint) RollOut(ModelVersion version, EndpointState? endpoint, RolloutStrategy? rollout = null,
        RetrainingLoop? loop = null) =>
        RetrainingDecisions.RollOut(loop ?? Loop(), Policy(rollout ?? Canary), version, endpoint, "bob", ApprovalId, Now);

    [Fact]
    public void Given_an_approval_by_another_When_the_retrained_version_is_approved_Then_the_policys_canary_starts_on_the_alarms_endpoint()
    {
        var (onLoop, onEndpoint) = RollOut(Version("bob"), Serving());
        onLoop.ThenEvents(new RetrainedRolloutStarted(AlarmId, "shop", 2, ApprovalId, "bob", Now));
        onEndpoint.ThenEvents(new RolloutStarted("shop", ApprovalId, "ncf", 2, "file:///v2.onnx", ShaB, RolloutKind.Canary, Canary.Steps, 1, "olga", Now,
            RolloutAnalysis.Default));
    }

    [Fact]
    public void Given_only_the_authors_approval_on_record_When_judged_Then_nothing_starts() =>
        RollOut(Version("olga"), Serving()).ShouldBe(([], []));

    [Fact]
    public void Given_a_rollout_already_decided_When_a_second_approval_comes_Then_nothing_more_starts()
    {
        var loop = Given<RetrainingLoop>([.. Retrain(Policy(Canary)).OnLoop, .. RollOut(Version("bob"), Serving()).OnLoop])!;
        RollOut(Version("bob", "carol"), Serving(), loop: loop).ShouldBe(([], []));
    }

    [Fact]
    public void Given_a_policy_without_a_rollout_When_the_version_is_approved_Then_nothing_starts_and_the_loop_says_an_operator_rolls_out()
    {
        var loop = Loop();
        RetrainingDecisions.RollOut(loop, Given<ModelPolicy>(new ModelPolicySet("ncf", DriftPolicy.Default, new RetrainingPolicy("ratings"), "olga", Now)),
            Version("bob"), Serving(), "bob", ApprovalId, Now).ShouldBe(([], []));
        var run = Succeeded(registered: 2);
        RetrainingDecisions.View(loop, run, Version("bob"), Serving(), policyRollsOut: false).Detail!.ShouldContain("an operator rolls it out");
    }

    [Fact]
    public void Given_a_rollout_in_flight_on_the_endpoint_When_the_version_is_approved_Then_why_nothing_started_is_recorded()
    {
        var busy = Serving(new RolloutStarted("shop", Guid.NewGuid(), "ncf", 3, "file:///v3", ShaA, RolloutKind.Canary, Canary.Steps, 1, "olga", Now,
            RolloutAnalysis.Default));
        var (onLoop, onEndpoint) = RollOut(Version("bob"), busy);
        onEndpoint.ShouldBeEmpty();
        onLoop.ShouldHaveSingleItem().ShouldBeOfType<RetrainedRolloutNotStarted>().Reason.ShouldContain("already has rollout");
    }

    [Fact]
    public void Given_a_deleted_or_missing_endpoint_When_the_version_is_approved_Then_why_nothing_started_is_recorded()
    {
        RollOut(Version("bob"), Serving(new EndpointDeleted("shop", "gone", "olga", Now))).OnLoop.ShouldHaveSingleItem()
            .ShouldBeOfType<RetrainedRolloutNotStarted>().Reason.ShouldContain("was deleted");
        RollOut(Version("bob"), null).OnLoop.ShouldHaveSingleItem().ShouldBeOfType<RetrainedRolloutNotStarted>().Reason.ShouldContain("endpoint 'shop'");
    }

    private static TrainingRun Succeeded(int? registered = null, string? blocked = null) => Given<TrainingRun>([
        new TrainingRunRequested(RetrainRun, "ncf", "recommender", NewData, "file:///new", ShaB, Hyper, new TrainingResources(), "git:abc", "olga", Now,
            new DriftTrigger(AlarmId, "shop", 1)),
        new TrainingRunSucceeded(RetrainRun, "file:///v2.onnx", ShaB, new Dictionary<string, double>(), Now),
        .. registered is { } v ? [new TrainingRunRegistered(RetrainRun, "ncf", v, Now)] : Array.Empty<object>(),
        .. blocked is { } b ? [new TrainingRunRegistrationBlocked(RetrainRun, "ncf", b, Now)] : Array.Empty<object>(),
    ])!;

    [Fact]
    public void Given_each_step_of_the_loop_When_viewed_Then_its_state_says_where_it_stands()
    {
        var loop = Loop();
        var requested = Given<TrainingRun>(new TrainingRunRequested(RetrainRun, "ncf", "recommender", NewData, "u", ShaB, Hyper, new TrainingResources(), "g", "olga", Now))!;
        RetrainingDecisions.View(loop, requested, null, null, true).State.ShouldBe(RetrainingStates.RunRequested);
        RetrainingDecisions.View(loop, requested.Apply(new TrainingRunFailed(RetrainRun, "oom", 137, Now)), null, null, true)
            .ShouldSatisfyAllConditions(v => v.State.ShouldBe(RetrainingStates.RunFailed), v => v.Detail.ShouldBe("oom"));
        RetrainingDecisions.View(loop, Succeeded(blocked: "quality gate: no"), null, null, true).State.ShouldBe(RetrainingStates.Blocked);
        var waiting = RetrainingDecisions.View(loop, Succeeded(registered: 2), Version(), Serving(), true);
        waiting.State.ShouldBe(RetrainingStates.WaitingForApproval);
        waiting.Detail.ShouldBe("ncf@2 needs an approval by someone other than registration-policy and olga");
        waiting.Version.ShouldBe(2);

        var started = Given<RetrainingLoop>([.. Retrain(Policy(Canary)).OnLoop, .. RollOut(Version("bob"), Serving()).OnLoop])!;
        var canary = Serving(RollOut(Version("bob"), Serving()).OnEndpoint);
        RetrainingDecisions.View(started, Succeeded(registered: 2), Version("bob"), canary, true)
            .ShouldSatisfyAllConditions(v => v.State.ShouldBe(RetrainingStates.RolloutStarted), v => v.Detail.ShouldBe("step 1 of 2"), v => v.RolloutId.ShouldBe(ApprovalId));
        RetrainingDecisions.View(started, Succeeded(registered: 2), Version("bob"), canary.Apply(new RolloutPromoted("shop", ApprovalId, 2, "olga", Now)), true)
            .State.ShouldBe(RetrainingStates.Promoted);
    }
}
