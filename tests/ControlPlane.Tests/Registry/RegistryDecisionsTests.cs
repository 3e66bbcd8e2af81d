using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Registry;

public class RegistryDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid RunId = Guid.NewGuid();
    private static readonly Guid DatasetId = Guid.NewGuid();
    private static readonly string Sha = new('c', 64);
    private static readonly Dictionary<string, double> Metrics = new() { ["hr@10"] = 0.7 };

    private static readonly TrainingRunRequested Requested = new(RunId, "ncf", "recommender", DatasetId, "file:///d", Sha,
        new Dictionary<string, double>(), new TrainingResources(), "git:1", "alice", Now);

    private static readonly TrainingRunSucceeded Succeeded = new(RunId, "file:///m.onnx", new string('d', 64), Metrics, Now);

    private static readonly ModelVersionRegistered Registered = new("ncf", 1, RunId, new ModelArtifact("file:///m.onnx", new string('d', 64)), DatasetId, Sha, Metrics, "alice", Now, "alice", "recommender");

    private static readonly ModelVersionRegistered RegisteredByPolicy = Registered with { RegisteredBy = RegistrationPolicy.Actor };

    [Fact]
    public void Given_a_succeeded_run_When_registering_Then_version_and_run_record_it() =>
        RegistryDecisions.Register(Given<TrainingRun>(Requested, Succeeded), null, 1, new RegisterModelVersion(Guid.NewGuid(), "ncf", RunId), "alice", Now)
            .ThenEvents(Registered, new TrainingRunRegistered(RunId, "ncf", 1, Now));

    [Fact]
    public void Given_a_running_run_When_registering_Then_only_succeeded_runs_register() =>
        ThenRefused<Refused>(() => RegistryDecisions.Register(Given<TrainingRun>(Requested), null, 1,
            new RegisterModelVersion(Guid.NewGuid(), "ncf", RunId), "alice", Now), "only a succeeded run");

    [Fact]
    public void Given_a_registered_run_When_registering_again_Then_it_names_the_existing_version() =>
        ThenRefused<Refused>(() => RegistryDecisions.Register(Given<TrainingRun>(Requested, Succeeded, new TrainingRunRegistered(RunId, "ncf", 1, Now)), null, 2,
            new RegisterModelVersion(Guid.NewGuid(), "ncf", RunId), "alice", Now), "already registered as ncf@1");

    [Fact]
    public void Given_no_run_When_registering_Then_it_is_not_found() =>
        ThenRefused<NotFound>(() => RegistryDecisions.Register(null, null, 1, new RegisterModelVersion(Guid.NewGuid(), "ncf", RunId), "alice", Now), "run");

    [Fact]
    public void Given_a_version_When_its_registrant_approves_Then_four_eyes_refuses() =>
        ThenRefused<Refused>(() => RegistryDecisions.Approve(Given<ModelVersion>(Registered), new ApproveModelVersion(Guid.NewGuid(), "ncf", 1), "alice", Now), "four-eyes");

    [Fact]
    public void Given_a_version_the_policy_registered_When_the_runs_requester_approves_Then_four_eyes_refuses() =>
        ThenRefused<Refused>(() => RegistryDecisions.Approve(Given<ModelVersion>(RegisteredByPolicy), new ApproveModelVersion(Guid.NewGuid(), "ncf", 1), "alice", Now),
            "alice requested the run behind ncf@1");

    [Fact]
    public void Given_a_version_When_another_approver_approves_twice_Then_one_approval_is_recorded()
    {
        var approved = new ModelVersionApproved("ncf", 1, "bob", "ok", Now);
        RegistryDecisions.Approve(Given<ModelVersion>(Registered), new ApproveModelVersion(Guid.NewGuid(), "ncf", 1, "ok"), "bob", Now).ThenEvents(approved);
        RegistryDecisions.Approve(Given<ModelVersion>(Registered, approved), new ApproveModelVersion(Guid.NewGuid(), "ncf", 1, "ok"), "bob", Now).ThenEvents();
    }

    [Fact]
    public void Given_an_unapproved_version_When_moving_to_production_Then_it_needs_a_second_pair_of_eyes() =>
        ThenRefused<Refused>(() => RegistryDecisions.TransitionStage(Given<ModelVersion>(Registered),
            new TransitionModelStage(Guid.NewGuid(), "ncf", 1, ModelStage.Production), "bob", Now), "approval by someone other");

    [Fact]
    public void Given_an_approved_version_When_moving_to_production_Then_the_stage_changes() =>
        RegistryDecisions.TransitionStage(Given<ModelVersion>(Registered, new ModelVersionApproved("ncf", 1, "bob", null, Now)),
                new TransitionModelStage(Guid.NewGuid(), "ncf", 1, ModelStage.Production), "bob", Now)
            .ThenEvents(new ModelVersionStageChanged("ncf", 1, ModelStage.None, ModelStage.Production, "bob", Now));

    [Fact]
    public void Given_an_archived_version_When_approving_Then_it_is_refused() =>
        ThenRefused<Refused>(() => RegistryDecisions.Approve(
            Given<ModelVersion>(Registered, new ModelVersionStageChanged("ncf", 1, ModelStage.None, ModelStage.Archived, "bob", Now)),
            new ApproveModelVersion(Guid.NewGuid(), "ncf", 1), "bob", Now), "archived");

    [Fact]
    public void Given_an_alias_on_v1_When_setting_it_on_v2_Then_it_moves()
    {
        var v1 = Given<ModelVersion>(Registered, new ModelVersionAliasSet("ncf", 1, "champion", "alice", Now));
        var v2 = Given<ModelVersion>(Registered with { Version = 2 });
        var (onTarget, onHolder) = RegistryDecisions.SetAlias(v2, v1, new SetModelAlias(Guid.NewGuid(), "ncf", 2, "champion"), "alice", Now);
        onTarget.ThenEvents(new ModelVersionAliasSet("ncf", 2, "champion", "alice", Now));
        onHolder.ThenEvents(new ModelVersionAliasRemoved("ncf", 1, "champion", "alice", Now));
    }
}
