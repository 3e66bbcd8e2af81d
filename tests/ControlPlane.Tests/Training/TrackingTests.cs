using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Lineage;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.Training;
using EventMlOps.Hosting;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.ControlPlane.Tests.Training;

/// <summary>The MLflow-shaped tracking API: a trainer logs with its run-scoped token; every call is one event.</summary>
public class TrackingTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpClient Trainer(ControlPlaneFixture fx, Guid run) => fx.Client(fx.Tokens.IssueForRun(run, TimeSpan.FromHours(1)));

    private static Task<HttpResponseMessage> Post(HttpClient client, string route, string json) =>
        client.PostAsync($"/api/2.0/mlflow/runs/{route}", new StringContent(json, Encoding.UTF8, "application/json"), Ct);

    [Fact]
    public async Task Given_a_run_token_When_a_batch_is_logged_Then_one_event_holds_all_its_values_and_runs_get_answers_in_mlflow_shape()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        using var trainer = Trainer(fx, request.RunId);
        var run = request.RunId.ToString("N");

        (await Post(trainer, "log-batch", $$"""
            {"run_id": "{{run}}", "params": [{"key": "lr", "value": "0.001"}, {"key": "factors", "value": "16"}], "tags": [{"key": "device", "value": "cpu"}]}
            """)).EnsureSuccessStatusCode();
        for (var step = 1; step <= 3; step++)
            (await Post(trainer, "log-batch", $$"""
                {"run_id": "{{run}}", "metrics": [{"key": "loss", "value": {{1.0 / step}}, "timestamp": 1700000000000, "step": {{step}}},
                                                  {"key": "hr@10", "value": {{0.2 * step}}, "timestamp": 1700000000000, "step": {{step}}}]}
                """)).EnsureSuccessStatusCode();
        (await Post(trainer, "log-metric", $$"""{"run_id": "{{run}}", "key": "ndcg@10", "value": 0.4, "timestamp": 1700000000001, "step": 3}""")).EnsureSuccessStatusCode();
        (await Post(trainer, "set-tag", $$"""{"run_id": "{{run}}", "key": "stage", "value": "eval"}""")).EnsureSuccessStatusCode();

        await using var session = fx.Store.QuerySession();
        var logged = (await session.Events.FetchStreamAsync(StreamKeys.Run(request.RunId), token: Ct)).Where(e => e.Data is TrainingRunLogged).ToList();
        logged.Count.ShouldBe(6, "one event per call: params+tags, three epochs, one metric, one tag");
        logged[1].Data.ShouldBeOfType<TrainingRunLogged>().Metrics.Count.ShouldBe(2);
        logged.ShouldAllBe(e => e.UserName == $"trainer-{run}");

        using var doc = JsonDocument.Parse(await trainer.GetStringAsync($"/api/2.0/mlflow/runs/get?run_id={run}", Ct));
        var got = doc.RootElement.GetProperty("run");
        got.GetProperty("info").GetProperty("run_id").GetString().ShouldBe(run);
        got.GetProperty("info").GetProperty("status").GetString().ShouldBe("SCHEDULED");
        var metrics = got.GetProperty("data").GetProperty("metrics").EnumerateArray()
            .ToDictionary(m => m.GetProperty("key").GetString()!, m => (m.GetProperty("value").GetDouble(), m.GetProperty("step").GetInt64()));
        metrics["loss"].ShouldBe((1.0 / 3, 3L), "the latest value of each metric");
        metrics["hr@10"].Item1.ShouldBe(0.6, 1e-9);
        metrics["ndcg@10"].ShouldBe((0.4, 3L));
        got.GetProperty("data").GetProperty("params").EnumerateArray().Select(p => p.GetProperty("key").GetString()).ShouldBe(["lr", "factors"], ignoreOrder: true);

        var view = await s.Viewer.Get<TrainingRunView>($"/api/runs/{request.RunId}");
        view.MetricHistory.Count(m => m.Key == "loss").ShouldBe(3);
        view.Tags["stage"].ShouldBe("eval");
    }

    [Fact]
    public async Task Given_a_run_token_When_used_elsewhere_Then_it_is_refused_with_mlflow_or_problem_errors()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var mine = s.Request();
        var other = s.Request();
        (await s.Scientist.Send("/api/runs", mine)).EnsureSuccessStatusCode();
        (await s.Scientist.Send("/api/runs", other)).EnsureSuccessStatusCode();
        using var trainer = Trainer(fx, mine.RunId);

        var foreign = await Post(trainer, "log-metric", $$"""{"run_id": "{{other.RunId:N}}", "key": "loss", "value": 1, "timestamp": 1}""");
        foreign.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await foreign.Content.ReadAsStringAsync(Ct)).ShouldContain("PERMISSION_DENIED");
        (await trainer.GetAsync($"/api/2.0/mlflow/runs/get?run_id={other.RunId:N}", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await (await trainer.GetAsync("/api/runs", Ct)).Problem(403)).GetProperty("detail").GetString()!.ShouldContain("tracking API");
        (await trainer.Send("/api/runs/cancel", new EventMlOps.Contracts.Training.CancelTraining(Guid.NewGuid(), mine.RunId, "mine"))).StatusCode
            .ShouldBe(HttpStatusCode.Forbidden);

        var badValue = await Post(trainer, "log-metric", $$"""{"run_id": "{{mine.RunId:N}}", "key": "loss", "value": "high", "timestamp": 1}""");
        badValue.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await badValue.Content.ReadAsStringAsync(Ct)).ShouldContain("INVALID_PARAMETER_VALUE");
        (await Post(trainer, "log-parameter", $$"""{"run_id": "{{mine.RunId:N}}", "key": "lr", "value": "0.1"}""")).EnsureSuccessStatusCode();
        var changed = await Post(trainer, "log-parameter", $$"""{"run_id": "{{mine.RunId:N}}", "key": "lr", "value": "0.2"}""");
        changed.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await changed.Content.ReadAsStringAsync(Ct)).ShouldContain("cannot change");
        using var anonymous = fx.Client();
        (await Post(anonymous, "log-metric", "{}")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        await using var session = fx.Store.QuerySession();
        (await session.Events.FetchStreamAsync(StreamKeys.Run(other.RunId), token: Ct)).Count.ShouldBe(1, "nothing reached the other run");
    }

    [Fact]
    public async Task Given_a_requested_run_When_its_work_order_is_issued_Then_it_carries_a_token_that_logs_to_that_run_only()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();

        string? token = null;
        (await LifecycleTests.Eventually(async () => (token = await WorkOrderTokenAsync(request.RunId)) is not null)).ShouldBeTrue();
        var actor = await fx.Tokens.AuthenticateAsync(token);
        actor.Run.ShouldBe(request.RunId);
        actor.Roles.ShouldBeEmpty();
    }

    /// <summary>Reads the LaunchTraining body straight from the agents' queue table (JSON inside a binary envelope).</summary>
    private async Task<string?> WorkOrderTokenAsync(Guid run)
    {
        await using var conn = new Npgsql.NpgsqlConnection(fx.ConnectionString);
        await conn.OpenAsync(Ct);
        await using var cmd = new Npgsql.NpgsqlCommand("select body from emo_queues.wolverine_queue_emo_agents where position(@run in body) > 0", conn);
        cmd.Parameters.AddWithValue("run", Encoding.UTF8.GetBytes(run.ToString()));
        if (await cmd.ExecuteScalarAsync(Ct) is not byte[] body) return null;
        var text = Encoding.UTF8.GetString(body);
        var start = text.IndexOf("{\"runId\"", StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(text[start..(text.LastIndexOf('}') + 1)]);
        return doc.RootElement.GetProperty("trackingToken").GetString();
    }

    [Fact]
    public async Task Given_a_running_run_When_its_job_beats_then_falls_silent_Then_no_beat_is_history_one_stall_is_and_the_views_show_both()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        await s.Fact("/api/runs/facts/started", new TrainingStartedReport(Guid.NewGuid(), request.RunId, DateTimeOffset.UtcNow));
        using var trainer = Trainer(fx, request.RunId);
        (await Post(trainer, "log-batch", $$"""{"run_id": "{{request.RunId:N}}", "params": [{"key": "lr", "value": "0.01"}]}""")).EnsureSuccessStatusCode();
        await using (var before = fx.Store.QuerySession())
        {
            var version = (await before.Events.FetchStreamStateAsync(StreamKeys.Run(request.RunId), Ct))!.Version;
            for (var beat = 0; beat < 3; beat++)
                await s.Fact("/api/runs/facts/heartbeat", new HeartbeatReport(Guid.NewGuid(), request.RunId, "train-x"));
            (await before.Events.FetchStreamStateAsync(StreamKeys.Run(request.RunId), Ct))!.Version.ShouldBe(version, "a beat appends nothing");
        }
        var beating = await s.Viewer.Get<TrainingRunView>($"/api/runs/{request.RunId}");
        beating.LastHeartbeatAt.ShouldNotBeNull();
        beating.StalledSince.ShouldBeNull();

        // The watch, as every control plane runs it, with the job silent for longer than the stall limit.
        var watch = ActivatorUtilities.CreateInstance<RunStallWatch>(fx.App.Services);
        await watch.CheckAsync(TimeSpan.Zero, Ct);
        await watch.CheckAsync(TimeSpan.Zero, Ct);

        await using var session = fx.Store.QuerySession();
        var stalls = (await session.Events.FetchStreamAsync(StreamKeys.Run(request.RunId), token: Ct)).Where(e => e.Data is TrainingRunStalled).ToList();
        stalls.Count.ShouldBe(1, "decided once for its last beat");
        stalls[0].UserName.ShouldBe(RunStallWatch.Actor);
        var stalled = await s.Viewer.Get<TrainingRunView>($"/api/runs/{request.RunId}");
        stalled.StalledSince.ShouldBe(beating.LastHeartbeatAt);
        stalled.Params["lr"].ShouldBe("0.01", "what the trainer tracked comes from its own projection");
        var listed = (await s.Viewer.Get<List<TrainingRunSummary>>($"/api/runs?model={s.Model}")).ShouldHaveSingleItem();
        (listed.RunId, listed.StalledSince).ShouldBe((request.RunId, stalled.StalledSince));
        var raw = await s.Viewer.GetStringAsync($"/api/runs?model={s.Model}", Ct);
        raw.ShouldNotContain("metricHistory", Case.Sensitive, "a list row carries no tracked history");
        // Its job beats again (no epoch yet): the run no longer shows stalled; the recorded stall stays history.
        await s.Fact("/api/runs/facts/heartbeat", new HeartbeatReport(Guid.NewGuid(), request.RunId, "train-x"));
        (await s.Viewer.Get<TrainingRunView>($"/api/runs/{request.RunId}")).StalledSince.ShouldBeNull();
        // A finished run's liveness is dropped by the next check.
        await s.Fact("/api/runs/facts/failed", new TrainingFailedReport(Guid.NewGuid(), request.RunId, "gone"));
        await watch.CheckAsync(TimeSpan.Zero, Ct);
        (await session.LoadAsync<RunLiveness>(StreamKeys.Run(request.RunId), Ct)).ShouldBeNull();
        // Time travel: as of the run's start, before the tracking call, nothing was tracked and no beat is shown.
        var started = (await session.Events.FetchStreamAsync(StreamKeys.Run(request.RunId), token: Ct)).First(e => e.Data is TrainingRunStarted);
        var past = await s.Viewer.Get<TrainingRunView>($"/api/runs/{request.RunId}?asOf={started.Sequence}");
        (past.Params.Count, past.LastHeartbeatAt).ShouldBe((0, (DateTimeOffset?)null));
    }
}
