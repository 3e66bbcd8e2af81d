using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Training;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Training;

public class ReproducingRunsTests
{
    private static readonly DateTimeOffset Then = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero), Now = Then.AddDays(3);
    private static readonly Guid Original = Guid.NewGuid(), Copy = Guid.NewGuid();
    private static readonly string Sha = new('a', 64);
    private static readonly Dataset Data = Given<Dataset>(new DatasetRegistered(Guid.NewGuid(), "ratings", "file:///d", Sha, "csv", 10, [], "alice", Then))!;
    private static readonly TrainingResources Resources = new(4, 8192, 0);

    private static TrainingRunRequested Requested(Dictionary<string, double> hyperparameters, string code = "git:abc123") =>
        new(Original, "ncf", "recommender", Data.DatasetId, Data.Uri, Sha, hyperparameters, Resources, code, "alice", Then);

    private static TrainingRunSucceeded Succeeded() =>
        new(Original, "file:///m.onnx", new string('b', 64), new Dictionary<string, double> { ["hr@10"] = 0.7 }, Then.AddHours(1));

    private static TrainingRun Run(params object[] events) => Given<TrainingRun>(events)!;

    private static RunTracking Tracked(string seed) => new RunTracking($"run:{Original:N}", Original).Apply(new TrainingRunLogged(Original, [],
        new Dictionary<string, string> { ["seed"] = seed, ["epochs"] = "3" }, new Dictionary<string, string>(), Then));

    private static readonly ReproduceRun Command = new(Guid.NewGuid(), Copy, Original);

    private static (object[] OnOriginal, object[] OnReproduction) Reproduce(TrainingRun? original, RunTracking? tracked = null, TrainingRun? current = null) =>
        TrainingDecisions.Reproduce(original, tracked, current, Data, Command, TrainerCatalog.BuiltIn, "bob", Now);

    [Fact]
    public void Given_a_succeeded_seeded_run_When_reproduced_Then_a_new_run_with_its_inputs_is_requested_by_the_reproducer_and_both_runs_are_linked()
    {
        var hyperparameters = new Dictionary<string, double> { ["epochs"] = 3, ["seed"] = 7, ["lr"] = 0.01 };

        var (onOriginal, onReproduction) = Reproduce(Run(Requested(hyperparameters), Succeeded()));

        var link = new RunReproduced(Copy, Original, "bob", Now);
        onOriginal.ThenEvents(link);
        onReproduction.ThenEvents(
            new TrainingRunRequested(Copy, "ncf", "recommender", Data.DatasetId, Data.Uri, Sha, hyperparameters, Resources, "git:abc123", "bob", Now), link);
    }

    [Fact]
    public void Given_a_run_that_requested_no_seed_When_reproduced_Then_the_seed_its_trainer_tracked_is_made_explicit()
    {
        var (_, onReproduction) = Reproduce(Run(Requested(new() { ["epochs"] = 3 }), Succeeded()), Tracked("42"));

        ((TrainingRunRequested)onReproduction[0]).Hyperparameters.ShouldBe(new Dictionary<string, double> { ["epochs"] = 3, ["seed"] = 42 });
    }

    [Theory]
    [InlineData(null)]
    [InlineData("forty-two")]
    public void Given_a_run_with_no_seed_requested_or_tracked_When_reproduced_Then_it_is_refused(string? trackedSeed) =>
        ThenRefused<Refused>(() => Reproduce(Run(Requested(new() { ["epochs"] = 3 }), Succeeded()), trackedSeed is null ? null : Tracked(trackedSeed)),
            "recorded no seed");

    [Fact]
    public void Given_no_such_run_When_reproduced_Then_it_is_not_found() =>
        ThenRefused<NotFound>(() => Reproduce(null), Original.ToString("N"));

    [Fact]
    public void Given_a_run_still_running_When_reproduced_Then_it_is_refused() =>
        ThenRefused<Refused>(() => Reproduce(Run(Requested(new() { ["seed"] = 1 }), new TrainingRunStarted(Original, Then))),
            "is running; only a succeeded run has results to reproduce");

    [Fact]
    public void Given_a_failed_run_When_reproduced_Then_it_is_refused() =>
        ThenRefused<Refused>(() => Reproduce(Run(Requested(new() { ["seed"] = 1 }), new TrainingRunFailed(Original, "OOMKilled", 137, Then))), "is failed");

    [Fact]
    public void Given_a_run_recorded_without_a_code_version_When_reproduced_Then_it_is_refused() =>
        ThenRefused<Refused>(() => Reproduce(Run(Requested(new() { ["seed"] = 1 }, code: ""), Succeeded())), "no code version");

    [Fact]
    public void Given_the_new_run_id_already_taken_When_reproduced_Then_it_is_refused() =>
        ThenRefused<Refused>(() => Reproduce(Run(Requested(new() { ["seed"] = 1 }), Succeeded()), current: Run(Requested(new()))), "already exists");

    [Fact]
    public void Given_an_empty_new_run_id_When_reproduced_Then_the_field_is_named() =>
        ThenRefused<InvalidField>(() => TrainingDecisions.Reproduce(Run(Requested(new() { ["seed"] = 1 }), Succeeded()), null, null, Data,
            Command with { RunId = Guid.Empty }, TrainerCatalog.BuiltIn, "bob", Now), "runId").Field.ShouldBe("runId");

    [Fact]
    public void Given_the_link_on_both_streams_When_folded_Then_each_run_names_the_other()
    {
        var link = new RunReproduced(Copy, Original, "bob", Now);
        var requested = Requested(new() { ["seed"] = 1 }) with { RunId = Copy };

        Run(Requested(new() { ["seed"] = 1 }), Succeeded(), link).Reproductions.ShouldBe([Copy]);
        Run(requested, link).ReproducedFrom.ShouldBe(Original);
    }
}
