using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.Training;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Training;

public class TrainingDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid RunId = Guid.NewGuid();
    private static readonly string Sha = new('a', 64);
    private static readonly Dataset Data = Given<Dataset>(
        new DatasetRegistered(Guid.NewGuid(), "ratings", "file:///d", Sha, "csv", 10, [], "alice", Now))!;

    private static RequestTraining Request(Dictionary<string, double>? hp = null) =>
        new(Guid.NewGuid(), RunId, "ncf", "recommender", Data.DatasetId, hp ?? new() { ["epochs"] = 3 }, new TrainingResources(), "git:1");

    private static TrainingRunRequested Requested() => (TrainingRunRequested)TrainingDecisions.Request(null, Data, Request(), TrainerCatalog.BuiltIn, "alice", Now)[0];

    [Fact]
    public void Given_a_registered_dataset_When_requesting_training_Then_the_run_is_requested_with_the_dataset_content_address() =>
        TrainingDecisions.Request(null, Data, Request(), TrainerCatalog.BuiltIn, "alice", Now).ThenEvents(new TrainingRunRequested(
            RunId, "ncf", "recommender", Data.DatasetId, "file:///d", Sha, Request().Hyperparameters, new TrainingResources(), "git:1", "alice", Now));

    [Fact]
    public void Given_no_dataset_When_requesting_training_Then_it_is_not_found() =>
        ThenRefused<NotFound>(() => TrainingDecisions.Request(null, null, Request(), TrainerCatalog.BuiltIn, "alice", Now), "dataset");

    [Theory]
    [InlineData("epochs", 1e300)]
    [InlineData("epochs", 2.5)]
    [InlineData("out", 1)]
    [InlineData("data", 1)]
    [InlineData("device", 1)]
    [InlineData("--device cuda; rm", 1)]
    [InlineData("learning_rate", 0.001)]
    [InlineData("fault_error_rate", 2)]
    public void Given_a_hyperparameter_the_trainer_would_refuse_When_requesting_Then_it_is_refused_now(string name, double value) =>
        ThenRefused<InvalidField>(() => TrainingDecisions.Request(null, Data, Request(new() { [name] = value }), TrainerCatalog.BuiltIn, "alice", Now),
            "hyperparameter");

    [Fact]
    public void Given_text_options_the_trainer_takes_When_requesting_Then_the_run_records_them() =>
        ((TrainingRunRequested)TrainingDecisions.Request(null, Data, Request() with { TrainerKind = "anomaly", Options = new Dictionary<string, string>
            { ["hidden"] = "256,64,8", ["features"] = "temperature,vibration", ["gap-tolerance"] = "3m", ["normalisation"] = "window", ["train_until"] = "2024-01-20T00:00:00Z" } },
            TrainerCatalog.BuiltIn, "alice", Now)[0]).Options!.Count.ShouldBe(5);

    [Theory]
    [InlineData("recommender", "hidden", "64", "is not a text option of the recommender trainer; it takes layers")]
    [InlineData("anomaly", "hidden", "256;rm -rf /", "must be comma-separated layer sizes such as 256,64,8")]
    [InlineData("anomaly", "hidden", "-1", "must be comma-separated layer sizes such as 256,64,8")]
    [InlineData("anomaly", "features", "--out=/etc", "must be comma-separated column names such as temperature,vibration")]
    [InlineData("anomaly", "normalisation", "rolling", "must be training or window")]
    [InlineData("anomaly", "cadence", "5 minutes", "must be a duration such as 60s or 5m")]
    [InlineData("anomaly", "epochs", "ten", "is not a text option of the anomaly trainer; it takes hidden, features, cadence, gap_tolerance, normalisation, train_until, validate_until")]
    [InlineData("anomaly", "Hidden", "16", "is given more than once")] // and as hidden below
    public void Given_a_text_option_the_trainer_would_refuse_When_requesting_Then_it_is_refused_now_naming_the_form(string kind, string name, string value, string reason)
    {
        var options = new Dictionary<string, string> { [name] = value };
        if (name == "Hidden") options["hidden"] = "8";
        var request = Request() with { TrainerKind = kind, Options = options };

        var refused = ThenRefused<InvalidField>(() => TrainingDecisions.Request(null, Data, request, TrainerCatalog.BuiltIn, "alice", Now), reason);

        refused.Message.ShouldNotContain("rm -rf");
        refused.Field.ShouldStartWith("options.");
    }

    [Fact]
    public void Given_an_unknown_trainer_kind_When_requesting_Then_the_known_ones_are_named() =>
        ThenRefused<InvalidField>(() => TrainingDecisions.Request(null, Data, Request() with { TrainerKind = "unknown" }, TrainerCatalog.BuiltIn, "alice", Now),
            "anomaly, recommender").Field.ShouldBe("trainerKind");

    [Fact]
    public void Given_a_code_version_longer_than_an_identifier_When_requesting_Then_it_is_refused_without_echo() =>
        ThenRefused<InvalidField>(() => TrainingDecisions.Request(null, Data, Request() with { CodeVersion = new string('a', 257) }, TrainerCatalog.BuiltIn, "alice", Now),
            "257 characters long").Field.ShouldBe("codeVersion");

    [Fact]
    public void Given_a_negative_hyperparameter_When_requesting_training_Then_the_field_is_named() =>
        ThenRefused<InvalidField>(() => TrainingDecisions.Request(null, Data, Request(new() { ["lr"] = -0.1 }), TrainerCatalog.BuiltIn, "alice", Now), "hyperparameters.lr");

    [Fact]
    public void Given_an_existing_run_When_requesting_it_again_Then_it_is_refused() =>
        ThenRefused<Refused>(() => TrainingDecisions.Request(Given<TrainingRun>(Requested()), Data, Request(), TrainerCatalog.BuiltIn, "alice", Now), "already exists");

    [Fact]
    public void Given_a_requested_run_When_cancelling_Then_it_is_cancelled() =>
        TrainingDecisions.Cancel(Given<TrainingRun>(Requested()), new CancelTraining(Guid.NewGuid(), RunId, "wrong data"), "alice", Now)
            .ThenEvents(new TrainingRunCancelled(RunId, "wrong data", "alice", Now));

    [Fact]
    public void Given_a_succeeded_run_When_cancelling_Then_it_is_refused() =>
        ThenRefused<Refused>(() => TrainingDecisions.Cancel(
            Given<TrainingRun>(Requested(), new TrainingRunSucceeded(RunId, "file:///m.onnx", Sha, new Dictionary<string, double>(), Now)),
            new CancelTraining(Guid.NewGuid(), RunId, "late"), "alice", Now), "cannot be cancelled");

    [Fact]
    public void Given_a_cancelled_run_When_cancelling_again_Then_nothing_happens() =>
        TrainingDecisions.Cancel(Given<TrainingRun>(Requested(), new TrainingRunCancelled(RunId, "x", "alice", Now)),
            new CancelTraining(Guid.NewGuid(), RunId, "again"), "alice", Now).ThenEvents();

    [Fact]
    public void Given_a_requested_run_When_the_agent_reports_submitted_then_again_Then_only_the_first_counts()
    {
        var run = Given<TrainingRun>(Requested());
        var fact = new JobSubmittedReport(Guid.NewGuid(), RunId, "train-1", "local");
        TrainingDecisions.Submitted(run, fact, Now).ThenEvents(new TrainingRunSubmitted(RunId, "train-1", "local", Now));
        TrainingDecisions.Submitted(Given<TrainingRun>(Requested(), new TrainingRunSubmitted(RunId, "train-1", "local", Now)), fact, Now).ThenEvents();
    }

    [Fact]
    public void Given_a_running_run_When_an_old_epoch_is_reported_again_Then_nothing_happens() =>
        TrainingDecisions.Epoch(Given<TrainingRun>(Requested(), new TrainingRunStarted(RunId, Now),
                new TrainingEpochCompleted(RunId, 2, new Dictionary<string, double>(), Now)),
            new EpochReport(Guid.NewGuid(), RunId, 2, new Dictionary<string, double>()), Now).ThenEvents();

    [Fact]
    public void Given_a_failed_run_When_success_is_reported_Then_it_is_refused() =>
        ThenRefused<Refused>(() => TrainingDecisions.Succeeded(Given<TrainingRun>(Requested(), new TrainingRunFailed(RunId, "oom", 137, Now)),
            new TrainingSucceededReport(Guid.NewGuid(), RunId, "file:///m", Sha, new Dictionary<string, double>()), Now), "already failed");

    [Fact]
    public void Given_a_running_run_When_success_has_a_malformed_digest_Then_the_field_is_named() =>
        ThenRefused<InvalidField>(() => TrainingDecisions.Succeeded(Given<TrainingRun>(Requested()),
            new TrainingSucceededReport(Guid.NewGuid(), RunId, "file:///m", "abc", new Dictionary<string, double>()), Now), "artifactSha256");

    [Fact]
    public void Given_a_running_run_When_failure_is_reported_Then_the_run_fails_with_the_reason() =>
        TrainingDecisions.Failed(Given<TrainingRun>(Requested()), new TrainingFailedReport(Guid.NewGuid(), RunId, "exit 1: CUDA OOM", 1), Now)
            .ThenEvents(new TrainingRunFailed(RunId, "exit 1: CUDA OOM", 1, Now));

    [Fact]
    public void Given_a_running_run_When_its_job_beats_Then_only_its_liveness_changes_and_a_finished_run_ignores_the_beat()
    {
        var beat = new HeartbeatReport(Guid.NewGuid(), RunId, "train-1");
        TrainingDecisions.Heartbeat(Given<TrainingRun>(Requested()), beat, Now).ShouldBe(new RunLiveness(StreamKeys.Run(RunId), RunId, "train-1", Now));
        TrainingDecisions.Heartbeat(Given<TrainingRun>(Requested(), new TrainingRunFailed(RunId, "oom", 137, Now)), beat, Now).ShouldBeNull();
        Should.Throw<NotFound>(() => TrainingDecisions.Heartbeat(null, beat, Now));
    }

    private const string Unschedulable = "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu";

    private static JobWaitingReport Waiting(string? reason) => new(Guid.NewGuid(), RunId, reason);

    [Fact]
    public void Given_a_submitted_run_When_its_job_is_reported_waiting_Then_the_reason_is_recorded_and_shown() =>
        TrainingDecisions.Waiting(Given<TrainingRun>(Requested(), new TrainingRunSubmitted(RunId, "train-1", "kubernetes", Now)), Waiting(Unschedulable), Now)
            .ThenEvents(new TrainingJobWaitingChanged(RunId, Unschedulable, Now));

    [Fact]
    public void Given_a_waiting_job_When_the_same_reason_is_reported_again_Then_nothing_happens() =>
        TrainingDecisions.Waiting(Given<TrainingRun>(Requested(), new TrainingJobWaitingChanged(RunId, Unschedulable, Now)), Waiting(Unschedulable), Now)
            .ThenEvents();

    [Fact]
    public void Given_a_waiting_job_When_another_reason_then_none_is_reported_Then_each_change_is_recorded_and_the_view_follows()
    {
        var waiting = new TrainingJobWaitingChanged(RunId, Unschedulable, Now);
        TrainingDecisions.Waiting(Given<TrainingRun>(Requested(), waiting), Waiting("ImagePullBackOff"), Now)
            .ThenEvents(new TrainingJobWaitingChanged(RunId, "ImagePullBackOff", Now));
        TrainingDecisions.Waiting(Given<TrainingRun>(Requested(), waiting), Waiting(null), Now).ThenEvents(new TrainingJobWaitingChanged(RunId, null, Now));
        TrainingDecisions.Waiting(Given<TrainingRun>(Requested(), waiting), Waiting(" "), Now).ThenEvents(new TrainingJobWaitingChanged(RunId, null, Now));
        Given<TrainingRun>(Requested(), waiting)!.ToView(null, null).WaitingReason.ShouldBe(Unschedulable);
        Given<TrainingRun>(Requested(), waiting, new TrainingJobWaitingChanged(RunId, null, Now))!.ToSummary(null).WaitingReason.ShouldBeNull();
    }

    [Fact]
    public void Given_a_job_that_never_waited_When_it_is_reported_well_Then_nothing_happens() =>
        TrainingDecisions.Waiting(Given<TrainingRun>(Requested()), Waiting(null), Now).ThenEvents();

    [Fact]
    public void Given_a_finished_run_When_its_job_is_reported_waiting_Then_it_is_ignored_and_a_reason_left_over_is_not_shown()
    {
        var failed = Given<TrainingRun>(Requested(), new TrainingJobWaitingChanged(RunId, "CrashLoopBackOff", Now), new TrainingRunFailed(RunId, "oom", 137, Now));
        TrainingDecisions.Waiting(failed, Waiting(Unschedulable), Now).ThenEvents();
        TrainingDecisions.Waiting(failed, Waiting(null), Now).ThenEvents();
        (failed!.ToView(null, null).WaitingReason, failed.ToSummary(null).WaitingReason).ShouldBe((null, null));
        Should.Throw<NotFound>(() => TrainingDecisions.Waiting(null, Waiting(Unschedulable), Now));
    }

    [Fact]
    public void Given_a_running_run_When_an_overlong_or_multiline_reason_is_reported_Then_it_is_refused_without_being_echoed()
    {
        ThenRefused<InvalidField>(() => TrainingDecisions.Waiting(Given<TrainingRun>(Requested()), Waiting("ImagePullBackOff\rSucceeded"), Now), "one line")
            .Message.ShouldNotContain("Succeeded");
        var overlong = new string('x', JobWaitingReport.MaxReasonLength + 1);
        var refused = ThenRefused<InvalidField>(() => TrainingDecisions.Waiting(Given<TrainingRun>(Requested()), Waiting(overlong), Now), "at most 1000");
        refused.Field.ShouldBe("reason");
        refused.Message.ShouldNotContain("xxxx");
        TrainingDecisions.Waiting(Given<TrainingRun>(Requested()), Waiting(overlong[1..]), Now).Length.ShouldBe(1);
    }

    [Fact]
    public void Given_a_run_whose_job_stopped_beating_When_the_stall_is_decided_Then_it_is_recorded_once_per_last_beat_and_an_epoch_clears_it()
    {
        var lastBeat = Now - TimeSpan.FromMinutes(3);
        var liveness = new RunLiveness(StreamKeys.Run(RunId), RunId, "train-1", lastBeat);
        var running = Given<TrainingRun>(Requested(), new TrainingRunStarted(RunId, Now - TimeSpan.FromMinutes(10)));

        TrainingDecisions.Stalled(running, liveness, Now, TimeSpan.FromMinutes(2)).ThenEvents(new TrainingRunStalled(RunId, lastBeat, Now));
        TrainingDecisions.Stalled(running, liveness, Now, TimeSpan.FromMinutes(5)).ThenEvents();
        var stalled = Given<TrainingRun>(Requested(), new TrainingRunStarted(RunId, Now), new TrainingRunStalled(RunId, lastBeat, Now));
        stalled!.StalledSince.ShouldBe(lastBeat);
        TrainingDecisions.Stalled(stalled, liveness, Now, TimeSpan.FromMinutes(2)).ThenEvents();
        TrainingDecisions.Stalled(stalled, liveness with { LastBeatAt = Now - TimeSpan.FromMinutes(2) }, Now, TimeSpan.FromMinutes(2))
            .ThenEvents(new TrainingRunStalled(RunId, Now - TimeSpan.FromMinutes(2), Now));
        Given<TrainingRun>(Requested(), new TrainingRunStalled(RunId, lastBeat, Now), new TrainingEpochCompleted(RunId, 1, new Dictionary<string, double>(), Now))!
            .StalledSince.ShouldBeNull("the job reported progress again");
        TrainingDecisions.Stalled(Given<TrainingRun>(Requested(), new TrainingRunCancelled(RunId, "x", "alice", Now)), liveness, Now, TimeSpan.FromMinutes(2)).ThenEvents();
    }
}
