using System.Net.Http.Json;
using System.Text.Json;
using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Streams;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Tests.Testing;
using Npgsql;

namespace EventMlOps.ControlPlane.Tests.History;

// Alone: "rebuilt equals live" and "no differences" hold only while no other test writes the shared store.
[CollectionDefinition(nameof(ProjectionRebuildTests), DisableParallelization = true)]
public sealed class ProjectionRebuildCollection;

/// <summary>Projection rebuilds through the real host's routes, on the store every test of this run shares (run alone): a
/// rebuild of each projection equals the live one, a verification finds exactly a corrupted document, and only an admin may
/// rebuild, one rebuild of a projection at a time.</summary>
[Collection(nameof(ProjectionRebuildTests))]
public sealed class ProjectionRebuildTests(ControlPlaneFixture fx)
{
    public static readonly string[] Expected = [
        "AnomalyEpisode", "Dataset", "EndpointAlarms", "EndpointState", "EndpointStatus", "Experiment", "ModelPolicy", "ModelVersion",
        "RegisteredModel", "RetrainingLoop", "RunTracking", "TrainingRun"];

    private HttpClient Admin => fx.Client(Roles.Admin, "ada");

    [Fact]
    public async Task Given_the_host_When_its_projections_are_listed_Then_every_snapshot_and_projection_is_there_and_no_subscription()
    {
        await LifecycleOfEveryKindAsync();
        var projections = await Admin.Get<List<ProjectionInfo>>("/api/projections");

        projections.Select(p => p.Document).Order(StringComparer.Ordinal).ShouldBe(Expected);
        projections.ShouldAllBe(p => p.Lifecycle == "Inline" && p.Documents > 0);
        projections.ShouldNotContain(p => p.Name.Contains("work-orders"));
    }

    [Fact]
    public async Task Given_a_lifecycle_of_every_kind_When_each_projection_is_rebuilt_Then_it_equals_the_live_one_and_no_work_order_is_sent_again()
    {
        await LifecycleOfEveryKindAsync();
        var workOrders = await WorkOrdersProgressAsync();
        foreach (var projection in await Admin.Get<List<ProjectionInfo>>("/api/projections"))
        {
            var run = await RunAsync(Admin, new RebuildRequest([projection.Name]));

            run.State.ShouldBe(ProjectionRun.Succeeded, run.Error);
            var replaced = run.Replaced.ShouldHaveSingleItem();
            replaced.Document.ShouldBe(projection.Document);
            replaced.Rebuilt.ShouldBeGreaterThan(0);
            (replaced.Inserted, replaced.Updated, replaced.Deleted).ShouldBe((0L, 0L, 0L), $"{projection.Name} rebuilt differs from the live one");
            run.Progress.ShouldHaveSingleItem().Done.ShouldBeTrue();
        }
        (await WorkOrdersProgressAsync()).ShouldBeGreaterThanOrEqualTo(workOrders, "the work-orders subscription was not rewound");
    }

    [Fact]
    public async Task Given_a_clean_store_When_it_is_verified_Then_every_document_compares_equal()
    {
        await LifecycleOfEveryKindAsync();
        var run = await RunAsync(Admin, new RebuildRequest(Verify: true));

        run.State.ShouldBe(ProjectionRun.Succeeded, run.Error);
        run.Projections.Count.ShouldBe(Expected.Length);
        run.Verification!.Compared.ShouldBeGreaterThan(0);
        run.Verification.Differences.ShouldBeEmpty(string.Join("; ", run.Verification.Differences.Select(d => $"{d.Document} {d.Id} {d.Kind} {string.Join(",", d.Fields)}")));
        run.Verification.DifferenceCount.ShouldBe(0);
        run.Replaced.ShouldBeNull("a verification replaces nothing");
        (await ScalarAsync("select count(*) from pg_namespace where nspname like 'emo\\_scratch\\_%'")).ShouldBe(0, "the scratch schema is dropped");
    }

    [Fact]
    public async Task Given_a_document_corrupted_behind_the_projection_When_verified_Then_exactly_it_is_reported_and_a_rebuild_repairs_it()
    {
        var (model, _) = await LifecycleOfEveryKindAsync();
        var id = StreamKeys.ModelVersion(model, 1);
        await SqlAsync($"update emo.mt_doc_modelversion set data = jsonb_set(data, '{{registeredBy}}', '\"mallory\"') where id = @id", id);

        var verified = await RunAsync(Admin, new RebuildRequest(Verify: true));

        verified.State.ShouldBe(ProjectionRun.Succeeded, verified.Error);
        var difference = verified.Verification!.Differences.ShouldHaveSingleItem();
        (difference.Document, difference.Id, difference.Kind).ShouldBe(("ModelVersion", id, "changed"));
        difference.Fields.ShouldBe(["registeredBy"]);
        verified.Verification.DifferenceCount.ShouldBe(1);
        (await new Scenario(fx, model).Viewer.Get<ModelVersionView>($"/api/models/{model}/versions/1")).RegisteredBy.ShouldBe("mallory");

        var rebuilt = await RunAsync(Admin, new RebuildRequest(["ModelVersion"]));

        rebuilt.State.ShouldBe(ProjectionRun.Succeeded, rebuilt.Error);
        rebuilt.Replaced.ShouldHaveSingleItem().Updated.ShouldBe(1);
        (await new Scenario(fx, model).Viewer.Get<ModelVersionView>($"/api/models/{model}/versions/1")).RegisteredBy.ShouldBe("alice");
        (await RunAsync(Admin, new RebuildRequest(["ModelVersion"], Verify: true))).Verification!.DifferenceCount.ShouldBe(0);
    }

    [Fact]
    public async Task Given_a_rebuild_under_way_When_the_same_projection_is_rebuilt_or_verified_again_Then_409_until_it_is_done()
    {
        var first = await (await Admin.Send("/api/projections/rebuilds", new RebuildRequest(["TrainingRun"]))).Read<ProjectionRun>();

        var again = await Admin.Send("/api/projections/rebuilds", new RebuildRequest(["TrainingRun", "Dataset"]));
        var verify = await Admin.Send("/api/projections/rebuilds", new RebuildRequest(Verify: true));

        (await again.Problem(409)).GetProperty("detail").GetString()!.ShouldContain("TrainingRun");
        await verify.Problem(409);
        var done = await PollAsync(Admin, first.Id);
        done.State.ShouldBe(ProjectionRun.Succeeded, done.Error);
        (await RunAsync(Admin, new RebuildRequest(["TrainingRun"]))).State.ShouldBe(ProjectionRun.Succeeded);
    }

    [Fact]
    public async Task Given_names_that_are_no_projection_When_rebuilt_Then_400_naming_the_projections_that_exist()
    {
        foreach (var name in new[] { "work-orders", "Nope", new string('x', 5000) })
        {
            var problem = await (await Admin.Send("/api/projections/rebuilds", new RebuildRequest([name]))).Problem(400);

            var detail = problem.GetProperty("detail").GetString()!;
            detail.ShouldContain("TrainingRun");
            detail.ShouldContain("AnomalyEpisode");
            detail.Length.ShouldBeLessThan(600, "the name is not echoed at length");
        }
        (await Admin.GetAsync($"/api/projections/rebuilds/{Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Given_anyone_but_an_admin_When_they_list_rebuild_or_read_a_rebuild_Then_403_and_nothing_starts()
    {
        var started = await RunAsync(Admin, new RebuildRequest(["Dataset"]));
        foreach (var role in Roles.All.Where(r => r != Roles.Admin))
        {
            var client = fx.Client(role, "someone");
            (await (await client.GetAsync("/api/projections")).Problem(403)).GetProperty("detail").GetString()!.ShouldContain("admin");
            await (await client.Send("/api/projections/rebuilds", new RebuildRequest(Verify: true))).Problem(403);
            await (await client.GetAsync($"/api/projections/rebuilds/{started.Id}")).Problem(403);
        }
        await (await fx.Client().GetAsync("/api/projections")).Problem(401);
    }

    /// <summary>A model's whole lifecycle (dataset, runs, versions, policy, an endpoint serving it, an anomaly episode) and a
    /// retraining decision, so that every projection holds a document; answers the model and its endpoint.</summary>
    private async Task<(string Model, string Endpoint)> LifecycleOfEveryKindAsync()
    {
        var s = new Scenario(fx);
        await s.ServingV1Async();
        (await s.Operator.Send("/api/models/policy", new SetModelPolicy(Guid.NewGuid(), s.Model))).EnsureSuccessStatusCode();
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        (await s.Replica.Send("/api/alarms/facts/raised", new AnomalyAlarmRaised(Guid.NewGuid(), s.Endpoint, "machine-1", 1, start, start.AddMinutes(1), 0.9, 0.2)))
            .EnsureSuccessStatusCode();
        (await s.Replica.Send("/api/alarms/facts/cleared", new AnomalyAlarmCleared(Guid.NewGuid(), s.Endpoint, "machine-1", 1, start, start.AddMinutes(5), 4, 1.7)))
            .EnsureSuccessStatusCode();
        // The closed loop's decision for an alarm it could not act on, as the drift slice records it.
        var alarm = Guid.NewGuid();
        await using var session = fx.Store.LightweightSession();
        session.Events.StartStream<RetrainingLoop>(StreamKeys.Retraining(alarm),
            new RetrainingNotStarted(alarm, s.Endpoint, s.Model, 1, "the model has no retraining policy", DateTimeOffset.UtcNow));
        await session.SaveChangesAsync();
        // An MLflow client's experiment, renamed and tagged, with a run it started, logged to and ended.
        var mlflow = await (await s.Scientist.PostAsync("/api/2.0/mlflow/experiments/create", Json($$"""{"name": "rebuild-{{s.Model}}"}"""))).Content
            .ReadFromJsonAsync<JsonElement>();
        var experiment = mlflow.GetProperty("experiment_id").GetString();
        (await s.Scientist.PostAsync("/api/2.0/mlflow/experiments/set-experiment-tag", Json($$"""{"experiment_id": "{{experiment}}", "key": "k", "value": "v"}""")))
            .EnsureSuccessStatusCode();
        var run = (await (await s.Scientist.PostAsync("/api/2.0/mlflow/runs/create", Json($$"""{"experiment_id": "{{experiment}}"}"""))).Content
            .ReadFromJsonAsync<JsonElement>()).GetProperty("run").GetProperty("info").GetProperty("run_id").GetString();
        (await s.Scientist.PostAsync("/api/2.0/mlflow/runs/log-metric", Json($$"""{"run_id": "{{run}}", "key": "loss", "value": "NaN", "timestamp": 1}""")))
            .EnsureSuccessStatusCode();
        (await s.Scientist.PostAsync("/api/2.0/mlflow/runs/update", Json($$"""{"run_id": "{{run}}", "status": "FINISHED"}"""))).EnsureSuccessStatusCode();
        (await s.Scientist.PostAsync("/api/2.0/mlflow/registered-models/create", Json($$"""{"name": "{{s.Model}}-mlflow", "description": "d"}""")))
            .EnsureSuccessStatusCode();
        return (s.Model, s.Endpoint);
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private Task<long> WorkOrdersProgressAsync() =>
        ScalarAsync("select coalesce(max(last_seq_id), 0) from emo.mt_event_progression where name like 'work-orders%'");

    private async Task<long> ScalarAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(fx.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    private async Task SqlAsync(string sql, string id)
    {
        await using var conn = new NpgsqlConnection(fx.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        cmd.Parameters.AddWithValue("id", id);
        (await cmd.ExecuteNonQueryAsync()).ShouldBe(1);
    }

    public static async Task<ProjectionRun> RunAsync(HttpClient admin, RebuildRequest request)
    {
        var response = await admin.Send("/api/projections/rebuilds", request);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var run = await response.Read<ProjectionRun>();
        response.Headers.Location!.ToString().ShouldBe($"/api/projections/rebuilds/{run.Id}");
        return await PollAsync(admin, run.Id);
    }

    public static async Task<ProjectionRun> PollAsync(HttpClient admin, Guid id)
    {
        for (var deadline = DateTime.UtcNow.AddMinutes(3); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            var run = await admin.Get<ProjectionRun>($"/api/projections/rebuilds/{id}");
            if (run.State != ProjectionRun.Running) return run;
        }
        throw new TimeoutException($"projection run {id} still running after 3 minutes");
    }
}
