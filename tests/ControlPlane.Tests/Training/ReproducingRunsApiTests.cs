using System.Net;
using System.Net.Http.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Tests.Training;

/// <summary>Reproducing a run through the real host: the scientist's command requests the new run and links both runs on
/// their streams, the views and the lineage; other roles, unknown and unfinished runs are refused with nothing appended.</summary>
public class ReproducingRunsApiTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A succeeded run whose trainer tracked the seed it used (as emo-train does), registered as a version.</summary>
    private static async Task<(Scenario S, Guid Run, int Version)> TrackedRunAsync(ControlPlaneFixture fx)
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var run = await s.TrainedRun();
        using var trainer = fx.Client(fx.Tokens.IssueForRun(run, TimeSpan.FromHours(1)));
        (await trainer.PostAsJsonAsync("/api/2.0/mlflow/runs/log-parameter", new { run_id = run.ToString("N"), key = "seed", value = "42" }, Ct))
            .EnsureSuccessStatusCode();
        return (s, run, await s.RegisteredVersion(run));
    }

    private async Task<IReadOnlyList<object>> EventsAsync(Guid run)
    {
        await using var session = fx.Store.QuerySession();
        return [.. (await session.Events.FetchStreamAsync(StreamKeys.Run(run), token: Ct)).Select(e => e.Data)];
    }

    [Fact]
    public async Task Given_a_succeeded_run_When_a_scientist_reproduces_it_Then_a_run_with_its_inputs_is_requested_and_linked_in_views_and_lineage()
    {
        var (s, original, version) = await TrackedRunAsync(fx);
        var command = new ReproduceRun(Guid.NewGuid(), Guid.NewGuid(), original);

        var accepted = await (await s.Scientist.Send("/api/runs/reproduce", command)).Read<CommandAccepted>();
        var retried = await (await s.Scientist.Send("/api/runs/reproduce", command)).Read<CommandAccepted>();

        (accepted.Stream, accepted.Appended, retried.Duplicate).ShouldBe((StreamKeys.Run(command.RunId), 3, true));
        var copy = await s.Viewer.Get<TrainingRunView>($"/api/runs/{command.RunId}");
        var source = await s.Viewer.Get<TrainingRunView>($"/api/runs/{original}");
        (copy.ModelName, copy.TrainerKind, copy.DatasetId, copy.DatasetSha256, copy.CodeVersion, copy.Resources, copy.RequestedBy)
            .ShouldBe((source.ModelName, source.TrainerKind, source.DatasetId, source.DatasetSha256, source.CodeVersion, source.Resources, "alice"));
        copy.Hyperparameters.OrderBy(h => h.Key).ShouldBe(new Dictionary<string, double>(source.Hyperparameters) { ["seed"] = 42 }.OrderBy(h => h.Key));
        (copy.Status, copy.ReproducedFrom).ShouldBe((RunStatus.Requested, original));
        source.Reproductions.ShouldBe([command.RunId]);
        (await s.Viewer.Get<ModelLineage>($"/api/lineage/models/{s.Model}/{version}")).Run!.Reproductions.ShouldBe([command.RunId]);
        (await EventsAsync(original)).OfType<RunReproduced>().ShouldHaveSingleItem().ShouldBe(new RunReproduced(command.RunId, original, "alice",
            ((RunReproduced)(await EventsAsync(command.RunId))[^1]).ReproducedAt));
    }

    [Fact]
    public async Task Given_a_succeeded_run_When_a_viewer_an_approver_or_an_agent_reproduces_it_Then_each_is_forbidden_and_nothing_is_appended()
    {
        var (s, original, _) = await TrackedRunAsync(fx);
        var before = (await EventsAsync(original)).Count;

        foreach (var client in new[] { s.Viewer, s.Approver, s.Agent })
        {
            var problem = await (await client.Send("/api/runs/reproduce", new ReproduceRun(Guid.NewGuid(), Guid.NewGuid(), original))).Problem(403);
            problem.GetProperty("detail").GetString()!.ShouldContain("ReproduceRun needs the role 'scientist'");
        }

        (await EventsAsync(original)).Count.ShouldBe(before);
    }

    [Fact]
    public async Task Given_a_succeeded_run_When_reproduced_under_its_own_id_Then_422_and_nothing_is_appended()
    {
        var (s, original, _) = await TrackedRunAsync(fx);
        var before = (await EventsAsync(original)).Count;

        (await (await s.Scientist.Send("/api/runs/reproduce", new ReproduceRun(Guid.NewGuid(), original, original))).Problem(422))
            .GetProperty("detail").GetString()!.ShouldContain($"run {original:N} already exists");

        (await EventsAsync(original)).Count.ShouldBe(before);
    }

    [Fact]
    public async Task Given_an_unknown_or_an_unfinished_run_When_reproduced_Then_404_and_422_say_why_and_no_run_is_requested()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var running = s.Request();
        (await s.Scientist.Send("/api/runs", running)).EnsureSuccessStatusCode();
        var (unknown, copy) = (Guid.NewGuid(), Guid.NewGuid());

        (await (await s.Scientist.Send("/api/runs/reproduce", new ReproduceRun(Guid.NewGuid(), copy, unknown))).Problem(404))
            .GetProperty("detail").GetString()!.ShouldContain(unknown.ToString("N"));
        (await (await s.Scientist.Send("/api/runs/reproduce", new ReproduceRun(Guid.NewGuid(), copy, running.RunId))).Problem(422))
            .GetProperty("detail").GetString()!.ShouldContain("is requested; only a succeeded run has results to reproduce");

        (await s.Viewer.GetAsync($"/api/runs/{copy}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await EventsAsync(running.RunId)).OfType<RunReproduced>().ShouldBeEmpty();
    }
}
