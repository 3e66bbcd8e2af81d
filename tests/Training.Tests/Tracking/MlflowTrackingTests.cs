using System.Net;
using EventMlOps.Training.Running;
using EventMlOps.Training.Tests.Testing;
using EventMlOps.Training.Tracking;

namespace EventMlOps.Training.Tests.Tracking;

public class MlflowTrackingTests
{
    private const string RunId = "0123456789abcdef0123456789ABCDEF";

    private static Func<string, string?> Environment(string? uri, string? runId = RunId, string? token = "secret-token")
        => name => name switch
        {
            "MLFLOW_TRACKING_URI" => uri,
            "MLFLOW_RUN_ID" => runId,
            "MLFLOW_TRACKING_TOKEN" => token,
            _ => null,
        };

    [Fact]
    public void Given_a_configured_run_When_params_and_metrics_are_logged_Then_each_is_one_mlflow_log_batch_with_the_bearer_token()
    {
        using var server = new TrackingServer();
        var warnings = new StringWriter();
        using var tracking = MlflowTracking.FromEnvironment(Environment(server.Uri.TrimEnd('/')), warnings)!;
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);

        tracking.LogStart([new("epochs", "3"), new("layers", "64,32")], [new("emo.trainer", "recommender")]);
        tracking.LogMetrics(new Metrics { ["loss"] = 0.25, ["hr@10"] = 0.5, ["bad"] = double.NaN }, 2, at);

        warnings.ToString().ShouldBeEmpty();
        var requests = server.Requests.ToArray();
        requests.Length.ShouldBe(2);
        requests.ShouldAllBe(r => r.Method == "POST" && r.Path == "/api/2.0/mlflow/runs/log-batch" && r.Authorization == "Bearer secret-token");
        var start = requests[0].Body;
        start.GetProperty("run_id").GetString().ShouldBe(RunId.ToLowerInvariant());
        start.GetProperty("params").EnumerateArray().Select(p => $"{p.GetProperty("key").GetString()}={p.GetProperty("value").GetString()}").ShouldBe(["epochs=3", "layers=64,32"]);
        start.GetProperty("tags")[0].GetProperty("key").GetString().ShouldBe("emo.trainer");
        var metrics = requests[1].Body.GetProperty("metrics").EnumerateArray().ToList();
        metrics.Select(m => m.GetProperty("key").GetString()).ShouldBe(["loss", "hr@10"], "non-finite values are left out");
        metrics[0].GetProperty("value").GetDouble().ShouldBe(0.25);
        metrics[0].GetProperty("step").GetInt32().ShouldBe(2);
        metrics[0].GetProperty("timestamp").GetInt64().ShouldBe(1_700_000_000_123);
    }

    [Theory]
    [InlineData(null, RunId, "t")]
    [InlineData("http://127.0.0.1:1", null, "t")]
    [InlineData("http://127.0.0.1:1", RunId, null)]
    [InlineData("http://127.0.0.1:1", RunId + "\n", "t")] // a run id with a final line break is no run id
    [InlineData("http://127.0.0.1:1", "../runs/x", "t")]
    public void Given_incomplete_or_invalid_configuration_When_created_Then_there_is_no_tracking(string? uri, string? runId, string? token)
    {
        MlflowTracking.FromEnvironment(Environment(uri, runId, token), new StringWriter()).ShouldBeNull();
    }

    [Fact]
    public void Given_a_run_id_that_is_not_32_hex_When_created_Then_tracking_is_off_with_a_warning()
    {
        var warnings = new StringWriter();

        MlflowTracking.FromEnvironment(Environment("http://127.0.0.1:1", "run-1"), warnings).ShouldBeNull();
        warnings.ToString().ShouldContain("MLFLOW_RUN_ID");
    }

    [Fact]
    public void Given_a_failing_or_unreachable_server_When_logging_Then_it_warns_and_carries_on()
    {
        using var server = new TrackingServer(HttpStatusCode.InternalServerError);
        var warnings = new StringWriter();
        using (var tracking = MlflowTracking.FromEnvironment(Environment(server.Uri), warnings)!)
            tracking.LogMetrics(new Metrics { ["loss"] = 1 }, 1, DateTimeOffset.UnixEpoch);
        using (var unreachable = MlflowTracking.FromEnvironment(Environment("http://127.0.0.1:1/"), warnings)!)
            unreachable.LogStart([], []);

        var lines = warnings.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(2);
        lines[0].ShouldStartWith("warning: tracking: logging metrics of step 1 answered 500");
        lines[1].ShouldStartWith("warning: tracking: logging params failed");
    }
}
