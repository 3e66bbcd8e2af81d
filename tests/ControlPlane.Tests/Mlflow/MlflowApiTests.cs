using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Mlflow;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.Training;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.ControlPlane.Tests.Mlflow;

/// <summary>MLflow's REST API 2.0 as MLflow clients use it. The request bodies are those MLflow's Python client sends
/// (protobuf JSON: int64 fields may come as strings, NaN and Infinity as "NaN" and "Infinity") and the answers are
/// checked against the field names of MLflow's published REST API reference — never against this server's own output.</summary>
public class MlflowApiTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A GET without a body, else a POST of <paramref name="json"/>, to an MLflow route; its answer, of the status expected.</summary>
    public static async Task<JsonElement> Call(HttpClient client, string route, string? json = null, HttpStatusCode expected = HttpStatusCode.OK) =>
        await Call(client, json is null ? HttpMethod.Get : HttpMethod.Post, route, json, expected);

    public static async Task<JsonElement> Call(HttpClient client, HttpMethod method, string route, string? json = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(method, $"/api/2.0/mlflow/{route}");
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        response.StatusCode.ShouldBe(expected, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task Given_a_scientist_token_When_a_python_client_session_runs_Then_every_call_is_an_event_of_a_real_run_and_reads_answer_in_mlflow_shape()
    {
        var alice = fx.Client(Roles.Scientist, "alice");
        var name = Unique("exp");
        var created = await Call(alice, "experiments/create", $$"""{"name": "{{name}}", "tags": [{"key": "team", "value": "recsys"}]}""");
        var experimentId = created.GetProperty("experiment_id").GetString()!;
        experimentId.ShouldAllBe(c => char.IsAsciiDigit(c));

        var byName = (await Call(alice, $"experiments/get-by-name?experiment_name={name}")).GetProperty("experiment");
        byName.GetProperty("experiment_id").GetString().ShouldBe(experimentId);
        byName.GetProperty("lifecycle_stage").GetString().ShouldBe("active");
        byName.GetProperty("tags")[0].GetProperty("key").GetString().ShouldBe("team");
        byName.GetProperty("creation_time").GetInt64().ShouldBeGreaterThan(0);
        (await Call(alice, "experiments/get-by-name?experiment_name=Default")).GetProperty("experiment").GetProperty("experiment_id").GetString().ShouldBe("0");

        // mlflow.start_run(): the client's own idea of its user is replaced by the token's.
        var start = DateTimeOffset.UtcNow.AddSeconds(-5).ToUnixTimeMilliseconds();
        var run = (await Call(alice, "runs/create", $$"""
            {"experiment_id": "{{experimentId}}", "user_id": "root", "start_time": "{{start}}", "run_name": "nightly",
             "tags": [{"key": "mlflow.user", "value": "root"}, {"key": "mlflow.source.name", "value": "train.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}]}
            """)).GetProperty("run");
        var info = run.GetProperty("info");
        var runId = info.GetProperty("run_id").GetString()!;
        info.GetProperty("run_uuid").GetString().ShouldBe(runId);
        info.GetProperty("experiment_id").GetString().ShouldBe(experimentId);
        info.GetProperty("run_name").GetString().ShouldBe("nightly");
        info.GetProperty("user_id").GetString().ShouldBe("alice");
        info.GetProperty("status").GetString().ShouldBe("RUNNING");
        info.GetProperty("start_time").GetInt64().ShouldBe(start);
        info.GetProperty("lifecycle_stage").GetString().ShouldBe("active");
        Tag(run, "mlflow.user").ShouldBe("alice");

        await Call(alice, "runs/log-parameter", $$"""{"run_id": "{{runId}}", "run_uuid": "{{runId}}", "key": "lr", "value": "0.01"}""");
        await Call(alice, "runs/log-metric", $$"""{"run_id": "{{runId}}", "run_uuid": "{{runId}}", "key": "loss", "value": 0.9, "timestamp": "{{start + 1}}", "step": "1"}""");
        await Call(alice, "runs/log-metric", $$"""{"run_id": "{{runId}}", "key": "loss", "value": 0.4, "timestamp": {{start + 2}}, "step": 2}""");
        await Call(alice, "runs/log-batch", $$"""
            {"run_id": "{{runId}}", "metrics": [{"key": "grad_norm", "value": "NaN", "timestamp": "{{start + 3}}", "step": "2"},
                                               {"key": "ratio", "value": "Infinity", "timestamp": "{{start + 3}}", "step": "2"}],
             "params": [{"key": "epochs", "value": "2"}], "tags": [{"key": "stage", "value": "eval"}, {"key": "scratch", "value": "x"}]}
            """);
        await Call(alice, "runs/set-tag", $$"""{"run_id": "{{runId}}", "key": "team", "value": "recsys"}""");
        await Call(alice, "runs/delete-tag", $$"""{"run_id": "{{runId}}", "key": "scratch"}""");

        var history = await Call(alice, $"metrics/get-history?run_id={runId}&metric_key=loss&max_results=1");
        history.GetProperty("metrics")[0].GetProperty("value").GetDouble().ShouldBe(0.9);
        var next = history.GetProperty("next_page_token").GetString();
        var rest = await Call(alice, $"metrics/get-history?run_id={runId}&metric_key=loss&page_token={Uri.EscapeDataString(next!)}");
        rest.GetProperty("metrics")[0].GetProperty("step").GetInt64().ShouldBe(2);
        rest.TryGetProperty("next_page_token", out _).ShouldBeFalse();

        var got = (await Call(alice, $"runs/get?run_id={runId}")).GetProperty("run");
        var metrics = got.GetProperty("data").GetProperty("metrics").EnumerateArray().ToDictionary(m => m.GetProperty("key").GetString()!, m => m.GetProperty("value"));
        metrics["loss"].GetDouble().ShouldBe(0.4);
        metrics["grad_norm"].GetString().ShouldBe("NaN", "as MLflow writes a non-finite value");
        metrics["ratio"].GetString().ShouldBe("Infinity");
        Tag(got, "stage").ShouldBe("eval");
        Tag(got, "scratch").ShouldBeNull();

        var ended = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var updated = (await Call(alice, "runs/update", $$"""{"run_id": "{{runId}}", "run_uuid": "{{runId}}", "status": "FINISHED", "end_time": "{{ended}}"}""")).GetProperty("run_info");
        updated.GetProperty("status").GetString().ShouldBe("FINISHED");
        updated.GetProperty("end_time").GetInt64().ShouldBe(ended);

        // Our model: a finished run in alice's name, never requested (so no work order launched anything); one event per call, each alice's.
        var view = await fx.Client(Roles.Viewer, "victor").Get<TrainingRunView>($"/api/runs/{runId}");
        view.Status.ShouldBe(RunStatus.Succeeded);
        view.RequestedBy.ShouldBe("alice");
        view.Params["lr"].ShouldBe("0.01");
        view.MetricHistory.Single(m => m.Key == "grad_norm").Value.ShouldBe(double.NaN);
        await using var session = fx.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(StreamKeys.Run(Guid.Parse(runId)), token: Ct);
        events.Select(e => e.Data.GetType().Name).ShouldBe([nameof(TrackedRunStarted), .. Enumerable.Repeat(nameof(TrainingRunLogged), 5), nameof(RunTagDeleted),
            nameof(TrackedRunEnded)]);
        events.ShouldAllBe(e => e.UserName == "alice");
        (await session.Events.FetchStreamAsync(Experiments.Stream(experimentId), token: Ct)).Single().Data.ShouldBeOfType<ExperimentCreated>().CreatedBy.ShouldBe("alice");
    }

    [Fact]
    public async Task Given_runs_in_an_experiment_When_searched_with_mlflows_grammar_Then_filters_orders_view_types_and_pages_hold()
    {
        var alice = fx.Client(Roles.Scientist, "alice");
        var experimentId = (await Call(alice, "experiments/create", $$"""{"name": "{{Unique("search")}}"}""")).GetProperty("experiment_id").GetString()!;
        var runs = new List<string>();
        foreach (var (lr, loss, name) in new[] { ("0.1", 0.5, "fast-1"), ("0.01", 0.3, "slow-1"), ("0.01", 0.2, "slow-2"), ("0.001", 0.9, "slower") })
        {
            var id = (await Call(alice, "runs/create", $$"""{"experiment_id": "{{experimentId}}", "run_name": "{{name}}"}""")).GetProperty("run").GetProperty("info")
                .GetProperty("run_id").GetString()!;
            await Call(alice, "runs/log-batch", $$"""{"run_id": "{{id}}", "metrics": [{"key": "loss", "value": {{loss}}, "timestamp": 1, "step": 0}], "params": [{"key": "lr", "value": "{{lr}}"}]}""");
            runs.Add(id);
        }
        await Call(alice, "runs/update", $$"""{"run_id": "{{runs[0]}}", "status": "FAILED"}""");
        await Call(alice, "runs/delete", $$"""{"run_id": "{{runs[3]}}"}""");

        async Task<string[]> Names(string body) =>
            [.. (await Call(alice, "runs/search", body)).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("info").GetProperty("run_name").GetString()!)];

        (await Names($$"""{"experiment_ids": ["{{experimentId}}"], "filter": "params.lr = '0.01' and metrics.loss < 0.25"}""")).ShouldBe(["slow-2"]);
        (await Names($$"""{"experiment_ids": ["{{experimentId}}"], "filter": "attributes.run_name LIKE 'slow%'", "order_by": ["metrics.loss DESC"]}""")).ShouldBe(["slow-1", "slow-2"]);
        (await Names($$"""{"experiment_ids": ["{{experimentId}}"], "filter": "tags.`mlflow.runName` ILIKE 'FAST%' AND attributes.status = 'FAILED'"}""")).ShouldBe(["fast-1"]);
        (await Names($$"""{"experiment_ids": ["{{experimentId}}"], "filter": "attributes.status IN ('RUNNING')", "order_by": ["params.lr"]}""")).ShouldBe(["slow-1", "slow-2"], ignoreOrder: true);
        (await Names($$"""{"experiment_ids": ["{{experimentId}}"], "run_view_type": "DELETED_ONLY"}""")).ShouldBe(["slower"]);
        (await Names($$"""{"experiment_ids": ["{{experimentId}}"], "run_view_type": "ALL", "order_by": ["metrics.loss ASC"]}""")).ShouldBe(["slow-2", "slow-1", "fast-1", "slower"]);
        await Call(alice, "runs/restore", $$"""{"run_id": "{{runs[3]}}"}""");

        var first = await Call(alice, "runs/search", $$"""{"experiment_ids": ["{{experimentId}}"], "max_results": 3, "order_by": ["metrics.loss ASC"]}""");
        first.GetProperty("runs").GetArrayLength().ShouldBe(3);
        var second = await Call(alice, "runs/search",
            $$"""{"experiment_ids": ["{{experimentId}}"], "max_results": 3, "order_by": ["metrics.loss ASC"], "page_token": "{{first.GetProperty("next_page_token").GetString()}}"}""");
        second.GetProperty("runs")[0].GetProperty("info").GetProperty("run_name").GetString().ShouldBe("slower");

        var bad = await Call(alice, "runs/search", $$"""{"experiment_ids": ["{{experimentId}}"], "filter": "metrics.loss LIKE '0.%'"}""", HttpStatusCode.BadRequest);
        bad.GetProperty("error_code").GetString().ShouldBe("INVALID_PARAMETER_VALUE");
        bad.GetProperty("message").GetString()!.ShouldContain("metrics.loss compares with =, !=, <, <=, >, >=");
        (await Call(alice, "runs/search", $$"""{"experiment_ids": ["{{experimentId}}"], "filter": "metrics.loss < 1 OR params.lr = '1'"}""", HttpStatusCode.BadRequest))
            .GetProperty("message").GetString()!.ShouldContain("joined by AND");
        (await Call(alice, "runs/search", $$"""{"experiment_ids": ["{{experimentId}}"], "page_token": "{{new string('A', 3000)}}"}""", HttpStatusCode.BadRequest))
            .GetProperty("message").GetString()!.Length.ShouldBeLessThan(200, "a large value is never echoed");
        var overflowing = Convert.ToBase64String(Encoding.UTF8.GetBytes("99999999999999"));
        (await Call(alice, "runs/search", $$"""{"experiment_ids": ["{{experimentId}}"], "page_token": "{{overflowing}}"}""", HttpStatusCode.BadRequest))
            .GetProperty("error_code").GetString().ShouldBe("INVALID_PARAMETER_VALUE");
        // A pattern that backtracks exponentially in a naive matcher, against a long value: answered, in linear time.
        await Call(alice, "runs/set-tag", $$"""{"run_id": "{{runs[1]}}", "key": "long", "value": "{{new string('a', 4000)}}"}""");
        (await Names($$"""{"experiment_ids": ["{{experimentId}}"], "filter": "tags.long LIKE '{{string.Concat(Enumerable.Repeat("%a", 40))}}b'"}""")).ShouldBeEmpty();
        (await Names($$"""{"experiment_ids": ["{{experimentId}}"], "filter": "tags.long LIKE '{{string.Concat(Enumerable.Repeat("%a", 40))}}%'"}""")).ShouldBe(["slow-1"]);
    }

    [Fact]
    public async Task Given_experiments_When_renamed_deleted_restored_and_searched_Then_names_stay_unique_and_only_their_creator_changes_them()
    {
        var alice = fx.Client(Roles.Scientist, "alice");
        var bob = fx.Client(Roles.Scientist, "bob");
        var name = Unique("ren");
        var id = (await Call(alice, "experiments/create", $$"""{"name": "{{name}}"}""")).GetProperty("experiment_id").GetString()!;
        var taken = await Call(bob, "experiments/create", $$"""{"name": "{{name}}"}""", HttpStatusCode.Conflict);
        taken.GetProperty("error_code").GetString().ShouldBe("RESOURCE_ALREADY_EXISTS");
        (await Call(bob, "experiments/update", $$"""{"experiment_id": "{{id}}", "new_name": "mine"}""", HttpStatusCode.Forbidden))
            .GetProperty("error_code").GetString().ShouldBe("PERMISSION_DENIED");

        await Call(alice, "experiments/update", $$"""{"experiment_id": "{{id}}", "new_name": "{{name}}"}"""); // its own name: nothing to do
        var renamed = name + "-b";
        await Call(alice, "experiments/update", $$"""{"experiment_id": "{{id}}", "new_name": "{{renamed}}"}""");
        await Call(alice, "experiments/set-experiment-tag", $$"""{"experiment_id": "{{id}}", "key": "owner", "value": "alice"}""");
        await Call(alice, "experiments/delete", $$"""{"experiment_id": "{{id}}"}""");
        (await Call(alice, "runs/create", $$"""{"experiment_id": "{{id}}"}""", HttpStatusCode.UnprocessableEntity)).GetProperty("message").GetString()!.ShouldContain("deleted");

        async Task<string[]> Found(string body) =>
            [.. (await Call(alice, "experiments/search", body)).GetProperty("experiments").EnumerateArray().Select(e => e.GetProperty("name").GetString()!)];
        (await Found($$"""{"filter": "name = '{{renamed}}'"}""")).ShouldBeEmpty("deleted experiments are not active");
        (await Found($$"""{"filter": "name LIKE '{{renamed}}'", "view_type": "DELETED_ONLY"}""")).ShouldBe([renamed]);
        await Call(alice, "experiments/restore", $$"""{"experiment_id": "{{id}}"}""");
        (await Found($$"""{"filter": "tags.owner = 'alice' AND name = '{{renamed}}'"}""")).ShouldBe([renamed]);
        (await Call(alice, $"experiments/search?filter={Uri.EscapeDataString("name = 'Default'")}")).GetProperty("experiments")[0]
            .GetProperty("experiment_id").GetString().ShouldBe("0");
        (await Call(alice, "experiments/delete", """{"experiment_id": "0"}""", HttpStatusCode.UnprocessableEntity)).GetProperty("error_code").GetString().ShouldBe("INVALID_STATE");
    }

    [Fact]
    public async Task Given_tokens_of_every_kind_When_they_call_the_mlflow_routes_Then_each_may_do_only_its_part_and_errors_are_in_mlflow_shape()
    {
        var alice = fx.Client(Roles.Scientist, "alice");
        var bob = fx.Client(Roles.Scientist, "bob");
        var viewer = fx.Client(Roles.Viewer, "victor");
        var runId = (await Call(alice, "runs/create", """{"experiment_id": "0"}""")).GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;

        var foreign = await Call(bob, "runs/log-metric", $$"""{"run_id": "{{runId}}", "key": "loss", "value": 1, "timestamp": 1}""", HttpStatusCode.Forbidden);
        foreign.GetProperty("error_code").GetString().ShouldBe("PERMISSION_DENIED");
        foreign.GetProperty("message").GetString()!.ShouldContain("started by alice");
        (await Call(bob, "runs/update", $$"""{"run_id": "{{runId}}", "status": "KILLED"}""", HttpStatusCode.Forbidden)).GetProperty("error_code").GetString().ShouldBe("PERMISSION_DENIED");
        (await Call(viewer, "runs/create", """{"experiment_id": "0"}""", HttpStatusCode.Forbidden)).GetProperty("message").GetString()!.ShouldContain("scientist");
        // The run's user is the token's: its owner cannot rename it afterwards, nor remove it.
        (await Call(alice, "runs/set-tag", $$"""{"run_id": "{{runId}}", "key": "mlflow.user", "value": "bob"}""", HttpStatusCode.BadRequest))
            .GetProperty("message").GetString()!.ShouldContain("cannot be changed");
        (await Call(alice, "runs/log-batch", $$"""{"run_id": "{{runId}}", "tags": [{"key": "mlflow.user", "value": "bob"}]}""", HttpStatusCode.BadRequest))
            .GetProperty("error_code").GetString().ShouldBe("INVALID_PARAMETER_VALUE");
        (await Call(alice, "runs/delete-tag", $$"""{"run_id": "{{runId}}", "key": "mlflow.user"}""", HttpStatusCode.BadRequest))
            .GetProperty("message").GetString()!.ShouldContain("cannot be removed");
        Tag((await Call(viewer, $"runs/get?run_id={runId}")).GetProperty("run"), "mlflow.user").ShouldBe("alice");
        (await Call(viewer, $"runs/get?run_id={runId}")).GetProperty("run").GetProperty("info").GetProperty("user_id").GetString().ShouldBe("alice");

        // A run launched through a work order: its status is its agent's to report; the trainer's update becomes tags.
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var launched = await s.TrainedRun();
        (await Call(alice, "runs/log-metric", $$"""{"run_id": "{{launched:N}}", "key": "loss", "value": 1, "timestamp": 1}""", HttpStatusCode.Forbidden))
            .GetProperty("message").GetString()!.ShouldContain("work order");

        using var anonymous = fx.Client();
        var unauthenticated = await Call(anonymous, "experiments/search", "{}", HttpStatusCode.Unauthorized);
        unauthenticated.GetProperty("error_code").GetString().ShouldBe("UNAUTHENTICATED");
        using var forged = fx.Client("not.a.jwt");
        (await Call(forged, $"runs/get?run_id={runId}", null, HttpStatusCode.Unauthorized)).GetProperty("message").GetString()!.ShouldContain("refused");
        (await Call(alice, "registered-models/list", null, HttpStatusCode.NotFound)).GetProperty("error_code").GetString().ShouldBe("ENDPOINT_NOT_FOUND");
        (await Call(alice, $"runs/get?run_id={Guid.NewGuid():N}", null, HttpStatusCode.NotFound)).GetProperty("error_code").GetString().ShouldBe("RESOURCE_DOES_NOT_EXIST");
        (await Call(alice, "runs/update", $$"""{"run_id": "{{runId}}", "status": "DONE"}""", HttpStatusCode.BadRequest)).GetProperty("message").GetString()!
            .ShouldContain("no run status");
        await Call(alice, "runs/update", $$"""{"run_id": "{{runId}}", "status": "KILLED"}""");
        (await Call(alice, "runs/update", $$"""{"run_id": "{{runId}}", "status": "FINISHED"}""", HttpStatusCode.UnprocessableEntity)).GetProperty("message").GetString()!
            .ShouldContain("not reopened");

        var ajax = await alice.GetAsync($"/ajax-api/2.0/mlflow/runs/get?run_id={runId}", Ct);
        ajax.StatusCode.ShouldBe(HttpStatusCode.OK, "the MLflow UI's prefix serves the same routes");
    }

    [Fact]
    public async Task Given_the_npm_mlflow_client_When_a_training_script_session_runs_against_the_control_plane_Then_it_works_unchanged()
    {
        var node = Path.Combine(RepositoryRoot(), "tests", "node");
        if (!Directory.Exists(Path.Combine(node, "node_modules", "mlflow")))
            throw new InvalidOperationException($"the npm mlflow client is not installed: run `npm ci --prefix {node}` (./emo test does)");
        var name = Unique("npm");
        var result = Path.GetTempFileName();
        try
        {
            var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])[Path.Combine(node, "mlflow-session.mjs"), fx.BaseAddress.ToString().TrimEnd('/'),
                         fx.Tokens.Issue("carol", [Roles.Scientist], TimeSpan.FromHours(1)), name, result])
                start.ArgumentList.Add(arg);
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync(Ct);
            await process.StandardOutput.ReadToEndAsync(Ct);
            await process.WaitForExitAsync(Ct);
            process.ExitCode.ShouldBe(0, await stderr);

            var r = JsonDocument.Parse(await File.ReadAllTextAsync(result, Ct)).RootElement;
            r.TryGetProperty("failed", out var failed).ShouldBeFalse(failed.ToString());
            r.GetProperty("experiment").GetProperty("name").GetString().ShouldBe(name);
            r.GetProperty("history").EnumerateArray().Select(m => m.GetProperty("value").GetDouble()).ShouldBe([1, 0.5, 1.0 / 3]);
            var found = r.GetProperty("search").EnumerateArray().Single();
            r.GetProperty("finished").GetProperty("status").GetString().ShouldBe("FINISHED");
            var run = r.GetProperty("run");
            run.GetProperty("info").GetProperty("run_id").GetString().ShouldBe(found.GetProperty("info").GetProperty("run_id").GetString());
            run.GetProperty("info").GetProperty("user_id").GetString().ShouldBe("carol");
            Tag(run, "team").ShouldBe("recsys");
            run.GetProperty("data").GetProperty("params").EnumerateArray().Select(p => p.GetProperty("key").GetString()).ShouldBe(["lr", "epochs"], ignoreOrder: true);
            r.GetProperty("listed").EnumerateArray().Select(e => e.GetString()).ShouldContain(name);
            r.GetProperty("error").GetProperty("data").GetProperty("error_code").GetString().ShouldBe("INVALID_PARAMETER_VALUE");

            var view = await fx.Client(Roles.Viewer, "victor").Get<TrainingRunView>($"/api/runs/{run.GetProperty("info").GetProperty("run_id").GetString()}");
            view.Status.ShouldBe(RunStatus.Succeeded);
            view.MetricHistory.Count(m => m.Key == "loss").ShouldBe(3);
        }
        finally
        {
            File.Delete(result);
        }
    }

    [Fact]
    public async Task Given_a_control_plane_serving_artifacts_When_a_client_uploads_lists_and_downloads_Then_each_file_is_stored_by_digest_and_recorded()
    {
        var (app, address) = await fx.StartWithAddressAsync("mlflow_artifacts", "--Mlflow:ServeArtifacts=true", "--Artifacts:S3:Bucket=");
        await using var _ = app;
        var alice = fx.Client(Roles.Scientist, "alice", address);
        var bob = fx.Client(Roles.Scientist, "bob", address);
        var run = (await Call(alice, "runs/create", """{"experiment_id": "0"}""")).GetProperty("run").GetProperty("info");
        var runId = run.GetProperty("run_id").GetString()!;
        var root = run.GetProperty("artifact_uri").GetString()!;
        root.ShouldBe($"mlflow-artifacts:/0/{runId}/artifacts");
        var proxy = $"/api/2.0/mlflow-artifacts/artifacts/{root["mlflow-artifacts:/".Length..]}";

        var onnx = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();
        (await alice.PutAsync($"{proxy}/model/model.onnx", new ByteArrayContent(onnx), Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await alice.PutAsync($"{proxy}/model/MLmodel", new StringContent("flavors: {onnx: {}}"), Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await alice.PutAsync($"{proxy}/notes.txt", new StringContent("first"), Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var model = JsonSerializer.Serialize(new { artifact_path = "model", flavors = new { onnx = new { onnx_version = "1.17" } } });
        await Call(alice, "runs/log-model", JsonSerializer.Serialize(new { run_id = runId, model_json = model }));

        (await alice.GetByteArrayAsync($"{proxy}/model/model.onnx", Ct)).ShouldBe(onnx);
        var listed = JsonDocument.Parse(await alice.GetStringAsync($"/api/2.0/mlflow-artifacts/artifacts?path=0/{runId}/artifacts", Ct)).RootElement;
        listed.GetProperty("files").EnumerateArray().Select(f => (f.GetProperty("path").GetString(), f.GetProperty("is_dir").GetBoolean())).ShouldBe([("model", true), ("notes.txt", false)]);
        var inModel = await Call(alice, $"artifacts/list?run_id={runId}&path=model", null);
        inModel.GetProperty("root_uri").GetString().ShouldBe(root);
        inModel.GetProperty("files").EnumerateArray().Select(f => (f.GetProperty("path").GetString(), f.GetProperty("file_size").GetInt64()))
            .ShouldContain(("model/model.onnx", onnx.LongLength));
        Tag((await Call(alice, $"runs/get?run_id={runId}")).GetProperty("run"), "mlflow.log-model.history")!.ShouldContain("\"artifact_path\":\"model\"");

        // Only the run's writer uploads; a reader downloads; no path leaves the run's folder.
        (await bob.PutAsync($"{proxy}/evil.txt", new StringContent("x"), Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await fx.Client(Roles.Viewer, "victor", address).GetByteArrayAsync($"{proxy}/model/model.onnx", Ct)).ShouldBe(onnx);
        foreach (var path in (string[])[$"{proxy}/../x", $"{proxy}/a%5C..%5Cb", $"/api/2.0/mlflow-artifacts/artifacts/0/{runId}/other/x"])
            (await alice.PutAsync(path, new StringContent("x"), Ct)).StatusCode.ShouldBeOneOf([HttpStatusCode.BadRequest, HttpStatusCode.NotFound], path);
        (await alice.GetAsync($"{proxy}/missing.bin", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var store = app.Services.GetRequiredService<IDocumentStore>();
        await using var session = store.QuerySession();
        var logged = (await session.Events.FetchStreamAsync(StreamKeys.Run(Guid.Parse(runId)), token: Ct)).Select(e => e.Data).OfType<RunArtifactLogged>().ToList();
        logged.Select(e => e.Path).ShouldBe(["model/model.onnx", "model/MLmodel", "notes.txt"]);
        logged[0].Artifact.Sha256.ShouldBe(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(onnx)));
        logged[0].LoggedBy.ShouldBe("alice");

        // A receipt is the control plane's own: a command naming another object (or none) is refused, even for one's own run.
        await using var writing = store.LightweightSession();
        var forged = new LogRunArtifact(Guid.NewGuid(), Guid.Parse(runId), "stolen.onnx", logged[0].Artifact,
            fx.Tokens.IssueGrant(RunArtifacts.ReceiptScope(Guid.Parse(runId), "model/model.onnx", logged[0].Artifact), TimeSpan.FromMinutes(1)));
        var actor = new Auth.Actor("alice", new HashSet<string> { Roles.Scientist });
        await Should.ThrowAsync<Commanding.Forbidden>(() => LogRunArtifactHandler.Handle(forged, actor, writing, fx.Tokens, TimeProvider.System, Ct));
        await Should.ThrowAsync<Commanding.Unauthenticated>(() => LogRunArtifactHandler.Handle(forged with { Receipt = "x" }, actor, writing, fx.Tokens, TimeProvider.System, Ct));
    }

    [Fact]
    public async Task Given_a_control_plane_serving_no_artifacts_When_a_client_uploads_Then_it_is_told_how_to_turn_them_on()
    {
        var alice = fx.Client(Roles.Scientist, "alice");
        var runId = (await Call(alice, "runs/create", """{"experiment_id": "0"}""")).GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        (await Call(alice, $"runs/get?run_id={runId}")).GetProperty("run").GetProperty("info").GetProperty("artifact_uri").GetString().ShouldBe("");
        var refused = await alice.PutAsync($"/api/2.0/mlflow-artifacts/artifacts/0/{runId}/artifacts/x", new StringContent("x"), Ct);
        refused.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await refused.Content.ReadAsStringAsync(Ct)).ShouldContain("Mlflow:ServeArtifacts=true");
    }

    [Fact]
    public async Task Given_the_openapi_document_When_the_mlflow_routes_are_read_Then_they_have_mlflows_field_names_errors_and_the_bearer_scheme()
    {
        using var anonymous = fx.Client();
        var doc = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json", Ct)).RootElement;
        var search = doc.GetProperty("paths").GetProperty("/api/2.0/mlflow/runs/search").GetProperty("post");
        var body = search.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        body.GetProperty("properties").EnumerateObject().Select(p => p.Name).ShouldBe(["experiment_ids", "filter", "run_view_type", "max_results", "order_by", "page_token"]);
        body.TryGetProperty("required", out _).ShouldBeFalse("MLflow's request fields are optional");
        search.GetProperty("responses").GetProperty("403").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref")
            .GetString().ShouldBe("#/components/schemas/MlflowError");
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        schemas.GetProperty("MlflowError").GetProperty("properties").EnumerateObject().Select(p => p.Name).ShouldBe(["error_code", "message"]);
        doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString().ShouldBe("bearer");
        doc.GetProperty("paths").EnumerateObject().ShouldNotContain(p => p.Name.StartsWith("/ajax-api"), "the UI's twin routes are left out");
    }

    private static string? Tag(JsonElement run, string key) =>
        run.GetProperty("data").GetProperty("tags").EnumerateArray().Where(t => t.GetProperty("key").GetString() == key).Select(t => t.GetProperty("value").GetString())
            .FirstOrDefault();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EventMlOps.sln"))) return dir.FullName;
        throw new InvalidOperationException("the repository root (EventMlOps.sln) was not found above the test binaries");
    }
}
