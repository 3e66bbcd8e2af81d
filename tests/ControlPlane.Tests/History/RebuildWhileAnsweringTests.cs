using System.Collections.Concurrent;
using System.Net.Http.Headers;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.History;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.Training;
using Marten;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EventMlOps.ControlPlane.Tests.History;

/// <summary>What a history import does once its raw events are in — <see cref="ProjectionRebuild.RebuildAllAsync"/> — on a
/// control plane of its own holding a large history without any snapshot, while that control plane goes on answering.</summary>
public sealed class RebuildWhileAnsweringTests(ControlPlaneFixture fx)
{
    private const int Runs = 1_500, Epochs = 40;

    [Fact]
    public async Task Given_imported_runs_without_snapshots_When_every_projection_is_rebuilt_Then_commands_and_queries_are_answered_meanwhile_and_the_runs_appear()
    {
        const string schema = "emo_rebuild_live";
        var runs = await ImportRunsAsync(schema);
        await using var app = await fx.StartAsync(schema);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        HttpClient As(string role) => new() { BaseAddress = address, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", fx.Tokens.Issue("ada", [role], TimeSpan.FromHours(1))) } };
        var (scientist, viewer) = (As(Roles.Scientist), As(Roles.Viewer));
        (await viewer.Get<List<TrainingRunSummary>>("/api/runs?model=imported&limit=1")).ShouldBeEmpty("no snapshot before the rebuild");

        var reports = new ConcurrentQueue<ProjectionProgress>();
        var rebuild = Task.Run(() => app.Services.GetRequiredService<ProjectionRebuild>().RebuildAllAsync(new Collect(reports), TestContext.Current.CancellationToken));
        var answered = 0;
        while (!rebuild.IsCompleted)
        {
            var dataset = Guid.NewGuid();
            (await scientist.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), dataset, "during-rebuild", "file:///data/u.data",
                Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(dataset.ToByteArray())),
                "movielens-udata", 10, []))).EnsureSuccessStatusCode();
            (await viewer.Get<DatasetView>($"/api/datasets/{dataset}")).Name.ShouldBe("during-rebuild");
            (await viewer.GetAsync("/api/runs?limit=5")).EnsureSuccessStatusCode();
            if (!rebuild.IsCompleted) answered++;
        }
        var replaced = await rebuild;

        answered.ShouldBeGreaterThan(0, "a command and two queries were answered while the rebuild ran");
        replaced.Single(r => r.Document == nameof(TrainingRun)).Inserted.ShouldBe(Runs);
        replaced.Single(r => r.Document == nameof(TrainingRun)).Rebuilt.ShouldBe(Runs);
        replaced.Single(r => r.Document == nameof(ControlPlane.Datasets.Dataset)).Inserted.ShouldBe(0, "the datasets registered meanwhile had their snapshots already");
        (await viewer.Get<List<TrainingRunSummary>>("/api/runs?model=imported&limit=1")).ShouldHaveSingleItem().Status.ShouldBe(RunStatus.Succeeded);
        var run = await viewer.Get<TrainingRunView>($"/api/runs/{runs[^1]}");
        (run.Status, run.Epochs).ShouldBe((RunStatus.Succeeded, Epochs));
        reports.ShouldContain(p => p.Projection == nameof(TrainingRun) && !p.Done && p.Position > 0 && p.Position <= p.Ceiling);
        reports.ShouldContain(p => p.Projection == nameof(TrainingRun) && p.Done);
        var verified = await ProjectionRebuildTests.RunAsync(As(Roles.Admin), new RebuildRequest(Verify: true));
        verified.Verification!.DifferenceCount.ShouldBe(0);
    }

    /// <summary>Runs of <see cref="Epochs"/> epochs each, appended in bulk (COPY) to a new store before its control plane starts, as
    /// an import appends them: events only, no snapshot, and the work orders of that history counted as sent long ago.</summary>
    private async Task<List<Guid>> ImportRunsAsync(string schema)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = DocumentStore.For(o => ControlPlaneApp.ConfigureStore(o, fx.ConnectionString, schema));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var at = DateTimeOffset.UtcNow.AddDays(-30);
        var ids = Enumerable.Range(0, Runs).Select(_ => Guid.NewGuid()).ToList();
        await using var session = store.LightweightSession();
        foreach (var id in ids)
        {
            object[] events =
            [
                new TrainingRunRequested(id, "imported", "recommender", Guid.NewGuid(), "file:///data/u.data", new string('d', 64),
                    new Dictionary<string, double> { ["epochs"] = Epochs }, new TrainingResources(1, 1024, 0), "git:abc", "alice", at),
                new TrainingRunSubmitted(id, $"train-{id:N}", "local", at),
                new TrainingRunStarted(id, at),
                .. Enumerable.Range(1, Epochs).Select(e => new TrainingEpochCompleted(id, e, new Dictionary<string, double> { ["loss"] = 1.0 / e }, at.AddMinutes(e))),
                new TrainingRunSucceeded(id, $"file:///artifacts/{id:N}.onnx", new string('e', 64), new Dictionary<string, double> { ["hr@10"] = 0.5 }, at.AddHours(1)),
            ];
            session.Events.StartStream<TrainingRun>(StreamKeys.Run(id), events);
        }
        await store.BulkInsertEventsAsync([.. session.PendingChanges.Streams()], 10_000, ct);
        await using var conn = new NpgsqlConnection(fx.ConnectionString);
        await conn.OpenAsync(ct);
        await using var caughtUp = new NpgsqlCommand($"""
            insert into {schema}.mt_event_progression (name, last_seq_id, last_updated)
            select 'work-orders:All', max(seq_id), now() from {schema}.mt_events
            """, conn);
        await caughtUp.ExecuteNonQueryAsync(ct);
        return ids;
    }

    private sealed class Collect(ConcurrentQueue<ProjectionProgress> into) : IProgress<ProjectionProgress>
    {
        public void Report(ProjectionProgress value) => into.Enqueue(value);
    }
}
