using System.Net;
using System.Text;
using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Mlflow;

/// <summary>MLflow's model registry routes on our registry: a script's run uploads its ONNX model through the artifact
/// proxy, registers it, and our rules hold — four eyes before Production, history never deleted — with MLflow's error
/// shape carrying our reasons. Request and answer fields as MLflow's REST API reference names them.</summary>
public class MlflowRegistryTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<JsonElement> Call(HttpClient client, HttpMethod method, string route, string? json = null, HttpStatusCode expected = HttpStatusCode.OK) =>
        MlflowApiTests.Call(client, method, route, json, expected);

    [Fact]
    public async Task Given_a_script_run_with_an_uploaded_onnx_model_When_registered_and_promoted_through_mlflow_Then_our_rules_hold_and_lineage_names_the_run()
    {
        var (app, address) = await fx.StartWithAddressAsync("mlflow_registry", "--Mlflow:ServeArtifacts=true", "--Artifacts:S3:Bucket=");
        await using var _ = app;
        var alice = fx.Client(Roles.Scientist, "alice", address);
        var bob = fx.Client(Roles.Approver, "bob", address);
        var carol = fx.Client(Roles.Approver, "carol", address);
        var model = $"mlflow-{Guid.NewGuid():N}"[..20];

        var run = (await Call(alice, HttpMethod.Post, "runs/create", """{"experiment_id": "0", "run_name": "script"}""")).GetProperty("run").GetProperty("info");
        var runId = run.GetProperty("run_id").GetString()!;
        var proxy = $"/api/2.0/mlflow-artifacts/artifacts/{run.GetProperty("artifact_uri").GetString()!["mlflow-artifacts:/".Length..]}";
        var onnx = Encoding.UTF8.GetBytes("not really onnx, but content all the same");
        (await alice.PutAsync($"{proxy}/model/model.onnx", new ByteArrayContent(onnx), Ct)).EnsureSuccessStatusCode();
        await Call(alice, HttpMethod.Post, "runs/log-metric", $$"""{"run_id": "{{runId}}", "key": "auc", "value": 0.91, "timestamp": 1}""");
        await Call(alice, HttpMethod.Post, "runs/log-metric", $$"""{"run_id": "{{runId}}", "key": "odd", "value": "NaN", "timestamp": 1}""");

        // mlflow.log_input: a dataset registered here (by its sha256 as the digest) becomes the run's dataset; another is
        // recorded as the client described it, linked to nothing.
        var data = new Scenario(fx, at: address);
        await data.RegisterDataset();
        object Input(string context, string name, string digest, string type, string uri) => new
        {
            tags = new[] { new { key = "mlflow.data.context", value = context } },
            dataset = new { name, digest, source_type = type, source = JsonSerializer.Serialize(new { uri }) },
        };
        await Call(alice, HttpMethod.Post, "runs/log-inputs", JsonSerializer.Serialize(new
        {
            run_id = runId,
            datasets = new[] { Input("training", "ratings", data.DatasetSha, "local", "file:///data/u.data"), Input("eval", "holdout", "1a2b3c4d", "s3", "s3://elsewhere/holdout.csv") },
        }));
        var inputs = (await Call(alice, HttpMethod.Get, $"runs/get?run_id={runId}")).GetProperty("run").GetProperty("inputs").GetProperty("dataset_inputs");
        inputs.EnumerateArray().Select(i => (i.GetProperty("dataset").GetProperty("name").GetString(), i.GetProperty("tags")[0].GetProperty("value").GetString()))
            .ShouldBe([("ratings", "training"), ("holdout", "eval")]);
        (await fx.Client(Roles.Viewer, "victor", address).Get<TrainingRunView>($"/api/runs/{runId}")).DatasetId.ShouldBe(data.DatasetId);

        var created = (await Call(alice, HttpMethod.Post, "registered-models/create", $$"""{"name": "{{model}}", "description": "script-trained", "tags": [{"key": "team", "value": "ml"}]}"""))
            .GetProperty("registered_model");
        created.GetProperty("name").GetString().ShouldBe(model);
        created.GetProperty("description").GetString().ShouldBe("script-trained");
        (await Call(alice, HttpMethod.Post, "registered-models/create", $$"""{"name": "{{model}}"}""", HttpStatusCode.Conflict)).GetProperty("error_code").GetString()
            .ShouldBe("RESOURCE_ALREADY_EXISTS");

        var noModel = await Call(alice, HttpMethod.Post, "model-versions/create", $$"""{"name": "{{model}}", "source": "runs:/{{runId}}/elsewhere", "run_id": "{{runId}}"}""",
            HttpStatusCode.BadRequest);
        noModel.GetProperty("message").GetString()!.ShouldContain("no ONNX model at 'elsewhere/model.onnx'");
        var version = (await Call(alice, HttpMethod.Post, "model-versions/create", $$"""{"name": "{{model}}", "source": "runs:/{{runId}}/model", "run_id": "{{runId}}"}"""))
            .GetProperty("model_version");
        version.GetProperty("version").GetString().ShouldBe("1");
        version.GetProperty("current_stage").GetString().ShouldBe("None");
        version.GetProperty("status").GetString().ShouldBe("READY");
        version.GetProperty("run_id").GetString().ShouldBe(runId);
        version.GetProperty("user_id").GetString().ShouldBe("alice");
        var source = version.GetProperty("source").GetString()!;
        source.ShouldBe($"mlflow-artifacts:/0/{runId}/artifacts/model");
        (await Call(alice, HttpMethod.Get, $"model-versions/get-download-uri?name={model}&version=1")).GetProperty("artifact_uri").GetString().ShouldBe(source);

        // Four eyes, with our reason in MLflow's error; then another approver's approval lets it through.
        var early = await Call(bob, HttpMethod.Post, "model-versions/transition-stage", $$"""{"name": "{{model}}", "version": "1", "stage": "Production"}""",
            HttpStatusCode.UnprocessableEntity);
        early.GetProperty("error_code").GetString().ShouldBe("INVALID_STATE");
        early.GetProperty("message").GetString()!.ShouldContain("needs an approval by someone other than its registrant (alice)");
        (await Call(alice, HttpMethod.Post, "model-versions/transition-stage", $$"""{"name": "{{model}}", "version": "1", "stage": "Staging"}""", HttpStatusCode.Forbidden))
            .GetProperty("message").GetString()!.ShouldContain("approver");
        (await carol.Send("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), model, 1, "AUC 0.91 on the holdout"))).EnsureSuccessStatusCode();
        var promoted = (await Call(bob, HttpMethod.Post, "model-versions/transition-stage", $$"""{"name": "{{model}}", "version": "1", "stage": "Production"}"""))
            .GetProperty("model_version");
        promoted.GetProperty("current_stage").GetString().ShouldBe("Production");
        promoted.GetProperty("description").GetString().ShouldBe("approved by carol: AUC 0.91 on the holdout");

        await Call(alice, HttpMethod.Post, "registered-models/alias", $$"""{"name": "{{model}}", "alias": "champion", "version": "1"}""");
        (await Call(alice, HttpMethod.Get, $"registered-models/alias?name={model}&alias=champion")).GetProperty("model_version").GetProperty("version").GetString().ShouldBe("1");
        await Call(alice, HttpMethod.Post, "registered-models/alias", $$"""{"name": "{{model}}", "alias": "scratch", "version": "1"}""");
        await Call(alice, HttpMethod.Delete, $"registered-models/alias?name={model}&alias=scratch");
        (await Call(alice, HttpMethod.Delete, "registered-models/alias", $$"""{"name": "{{model}}", "alias": "scratch"}""", HttpStatusCode.NotFound))
            .GetProperty("error_code").GetString().ShouldBe("RESOURCE_DOES_NOT_EXIST");
        var got = (await Call(alice, HttpMethod.Get, $"registered-models/get?name={model}")).GetProperty("registered_model");
        got.GetProperty("aliases").EnumerateArray().Select(a => a.GetProperty("alias").GetString()).ShouldBe(["champion"]);
        got.GetProperty("latest_versions").EnumerateArray().Select(v => v.GetProperty("current_stage").GetString()).ShouldBe(["Production"]);
        (await Call(alice, HttpMethod.Post, "registered-models/get-latest-versions", $$"""{"name": "{{model}}", "stages": ["Staging"]}""")).GetProperty("model_versions")
            .GetArrayLength().ShouldBe(0);
        (await Call(alice, HttpMethod.Post, "model-versions/search", $$"""{"filter": "name = '{{model}}' AND run_id = '{{runId}}'"}""")).GetProperty("model_versions")
            .EnumerateArray().Select(v => v.GetProperty("version").GetString()).ShouldBe(["1"]);
        (await Call(alice, HttpMethod.Post, "registered-models/search", $$"""{"filter": "name LIKE '{{model[..10]}}%'"}""")).GetProperty("registered_models")
            .EnumerateArray().Select(m => m.GetProperty("name").GetString()).ShouldContain(model);

        // History is never erased; the refusal says what to do instead.
        (await Call(alice, HttpMethod.Delete, "model-versions/delete", $$"""{"name": "{{model}}", "version": "1"}""", HttpStatusCode.UnprocessableEntity))
            .GetProperty("message").GetString()!.ShouldContain("Archived");
        (await Call(alice, HttpMethod.Post, "registered-models/rename", $$"""{"name": "{{model}}", "new_name": "x"}""", HttpStatusCode.UnprocessableEntity))
            .GetProperty("error_code").GetString().ShouldBe("INVALID_STATE");

        // Our own view: the version, its artifact by digest, its finite metrics, and the lineage back to alice's run.
        var viewer = fx.Client(Roles.Viewer, "victor", address);
        var ours = await viewer.Get<ModelVersionView>($"/api/models/{model}/versions/1");
        ours.ArtifactSha256.ShouldBe(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(onnx)));
        ours.Metrics.ShouldBe(new Dictionary<string, double> { ["auc"] = 0.91 }, "a NaN is no metric to judge a version by");
        var lineage = JsonDocument.Parse(await viewer.GetStringAsync($"/api/lineage/models/{model}/1", Ct)).RootElement;
        lineage.GetRawText().ShouldContain(runId[..8]);
        lineage.GetProperty("dataset").GetProperty("sha256").GetString().ShouldBe(data.DatasetSha, "the logged input is the version's dataset");
        lineage.GetRawText().ShouldContain("carol");
    }
}
