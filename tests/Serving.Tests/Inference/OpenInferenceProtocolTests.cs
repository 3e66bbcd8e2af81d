using System.Net;
using System.Text.Json;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Inference;

public class OpenInferenceProtocolTests(TrainedModels models)
{
    private static string Infer(object inputs, object? outputs = null) => JsonSerializer.Serialize(new { id = "req-1", inputs, outputs });

    private static object Tensor(string name, long[] shape, string datatype, object data) => new { name, shape, datatype, data };

    [Fact]
    public async Task Given_a_serving_process_When_asked_for_health_and_metadata_Then_it_answers_in_the_protocols_shapes()
    {
        var host = await models.SharedAsync();

        (await host.GetJson("/v2/health/live")).Body.GetProperty("live").GetBoolean().ShouldBeTrue();
        (await host.GetJson("/v2/health/ready")).Body.GetProperty("ready").GetBoolean().ShouldBeTrue();
        (await host.Client.GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await host.Client.GetAsync("/health/ready")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var server = (await host.GetJson("/v2")).Body;
        server.GetProperty("name").GetString().ShouldBe("emo-serve");
        server.GetProperty("extensions").ValueKind.ShouldBe(JsonValueKind.Array);

        var (status, model, version) = await host.GetJson("/v2/models/rec");
        status.ShouldBe(HttpStatusCode.OK);
        version.ShouldBe("rec@1");
        model.GetProperty("name").GetString().ShouldBe("rec");
        model.GetProperty("versions").EnumerateArray().Select(v => v.GetString()).ShouldBe(["1"]);
        model.GetProperty("platform").GetString().ShouldBe("onnxruntime_onnx");
        model.GetProperty("inputs").ToString().ShouldBe("""[{"name":"user","datatype":"INT64","shape":[-1]},{"name":"item","datatype":"INT64","shape":[-1]}]""");
        model.GetProperty("outputs").ToString().ShouldBe("""[{"name":"score","datatype":"FP32","shape":[-1]}]""");
        var sensors = (await host.GetJson("/v2/models/sensors/versions/1")).Body;
        sensors.GetProperty("inputs")[0].GetProperty("shape").ToString().ShouldBe("[-1,90]");
        var ready = await host.GetJson("/v2/models/sensors/versions/1/ready");
        (ready.Status, ready.Body.GetProperty("ready").GetBoolean()).ShouldBe((HttpStatusCode.OK, true));
    }

    [Fact]
    public async Task Given_a_recommender_When_inferring_with_JSON_tensors_Then_the_scores_are_the_models()
    {
        var host = await models.SharedAsync();
        var seen = DirectOrt.Seen(models.RecommenderPath);
        var direct = DirectOrt.Scores(models.RecommenderPath, [3, 4], seen.ItemIds.Length);

        var (status, body, version) = await host.PostJson("/v2/models/rec/versions/1/infer",
            Infer(new[] { Tensor("user", [2], "INT64", new[] { 3, 4 }), Tensor("item", [2], "INT64", new[] { 10, 20 }) }));

        status.ShouldBe(HttpStatusCode.OK, body.ToString());
        version.ShouldBe("rec@1");
        body.GetProperty("model_name").GetString().ShouldBe("rec");
        body.GetProperty("model_version").GetString().ShouldBe("1");
        body.GetProperty("id").GetString().ShouldBe("req-1");
        var score = body.GetProperty("outputs").EnumerateArray().ShouldHaveSingleItem();
        score.GetProperty("name").GetString().ShouldBe("score");
        score.GetProperty("datatype").GetString().ShouldBe("FP32");
        score.GetProperty("shape").ToString().ShouldBe("[2]");
        score.GetProperty("data").EnumerateArray().Select(d => d.GetSingle()).ShouldBe([direct[0][10], direct[1][20]], 1e-6f);
    }

    [Fact]
    public async Task Given_an_anomaly_model_When_inferring_with_data_nested_by_the_shape_Then_both_outputs_come_back()
    {
        var host = await models.SharedAsync();
        var windows = Enumerable.Range(0, 2).Select(w => Enumerable.Range(0, 90).Select(i => (float)(w + i % 3)).ToArray()).ToArray();
        var direct = DirectOrt.AnomalyErrors(models.AnomalyPath, windows.SelectMany(w => w).ToArray(), 90);

        var (status, body, version) = await host.PostJson("/v2/models/sensors/infer", Infer(new[] { Tensor("window", [2, 90], "FP32", windows) }));

        status.ShouldBe(HttpStatusCode.OK, body.ToString());
        version.ShouldBe("sensors@1");
        var outputs = body.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        outputs.Keys.Order().ShouldBe(["error", "reconstruction"]);
        outputs["reconstruction"].GetProperty("shape").ToString().ShouldBe("[2,90]");
        outputs["error"].GetProperty("data").EnumerateArray().Select(d => d.GetSingle()).ShouldBe(direct, 1e-4f);
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { "/v2/models/nope/infer", Infer(Array.Empty<object>()), "the request has no inputs" },
        { "/v2/models/nope/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1 }) }), "unknown model 'nope'" },
        { "/v2/models/rec/versions/9/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1 }) }), "model 'rec' has no version 9 loaded" },
        { "/v2/models/rec/versions/x/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1 }) }), "version must be a number" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1 }) }), "missing inputs: item" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "FP32", new[] { 1 }), Tensor("item", [1], "INT64", new[] { 1 }) }), "input 'user' is 'FP32'; the model takes INT64" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1, 1], "INT64", new[] { 1 }), Tensor("item", [1], "INT64", new[] { 1 }) }), "input 'user' has shape [1,1]; the model takes [-1]" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [2], "INT64", new[] { 1 }), Tensor("item", [1], "INT64", new[] { 1 }) }), "input 'user' has 1 values; shape [2] holds 2" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1.5 }), Tensor("item", [1], "INT64", new[] { 1 }) }), "input 'user' holds a value that is not an index ≥ 0" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { "a" }), Tensor("item", [1], "INT64", new[] { 1 }) }), "tensor data must be numbers" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1 }), Tensor("item", [1], "INT64", new[] { 1 }), Tensor("extra", [1], "INT64", new[] { 1 }) }), "has no input 'extra'" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1 }), Tensor("item", [1], "INT64", new[] { 1 }) }, new[] { new { name = "logit" } }), "has no output 'logit'" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 100000 }), Tensor("item", [1], "INT64", new[] { 1 }) }), "input 'user' holds index 100000: the model has 300 users (0 to 299)" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1 }), Tensor("item", [1], "INT64", new[] { 100000 }) }), "input 'item' holds index 100000: the model has" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [2], "INT64", new[] { 1, 2 }), Tensor("item", [3], "INT64", new[] { 1, 2, 3 }) }), "inputs 'user' and 'item' differ in dimension N (2 and 3)" },
        { "/v2/models/rec/infer", Infer(new[] { Tensor("user", [1], "INT64", new[] { 1 }), Tensor("user", [1], "INT64", new[] { 1 }) }), "input 'user' is given twice" },
        { "/v2/models/rec/infer", Infer(new object?[] { null }), "every input and output needs a name" },
        { "/v2/models/sensors/infer", Infer(new[] { Tensor("window", [1, 90], "FP32", Enumerable.Range(0, 90).Select(i => i == 4 ? 3e38f : 1f).ToArray()) }),
            "input 'window': window 0, step 1, vibration: a reading more than 1,000,000 standard deviations from the training mean" },
        { "/v2/models/rec/infer", "", "the body is empty" },
        { "/v2/models/rec/infer", "{\"inputs\": [{\"name\": \"user\", \"shape\": \"two\"}]}", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Given_a_bad_infer_request_When_posted_Then_400_with_the_protocols_error(string route, string body, string reason)
    {
        var host = await models.SharedAsync();

        var (status, error, _) = await host.PostJson(route, body);

        status.ShouldBe(HttpStatusCode.BadRequest);
        error.EnumerateObject().Select(p => p.Name).ShouldBe(["error"]);
        error.GetProperty("error").GetString()!.ShouldContain(reason);
    }

    [Theory]
    [InlineData("/v2/models/nope", "unknown model 'nope'")]
    [InlineData("/v2/models/nope/ready", "unknown model 'nope'")]
    [InlineData("/v2/models/rec/versions/2/ready", "model 'rec' has no version 2 loaded")]
    public async Task Given_an_unknown_model_or_version_When_asked_for_metadata_or_readiness_Then_400_with_the_protocols_error(string route, string reason)
    {
        var host = await models.SharedAsync();

        var (status, error, _) = await host.GetJson(route);

        status.ShouldBe(HttpStatusCode.BadRequest);
        error.GetProperty("error").GetString()!.ShouldContain(reason);
    }
}
