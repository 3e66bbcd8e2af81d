using System.Text.Json;
using EventMlOps.Training.Tests.Testing;

namespace EventMlOps.Training.Tests.Trainers;

/// <summary>The executable's contract with the training agent, through real child processes.</summary>
public class TrainerProcessTests
{
    private const string RunId = "5f1c0e8a9b7d4c3e2a1f0e9d8c7b6a59";

    private static Dictionary<string, double> Numbers(JsonElement obj) => obj.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());

    private static double[] Reference(JsonElement feature) => feature.GetProperty("reference").EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Fact]
    public async Task Given_generated_interactions_When_the_recommender_runs_Then_it_writes_the_artifacts_reports_each_epoch_and_logs_to_tracking()
    {
        using var tracking = new TrackingServer();
        var output = Path.Combine(Temp.Folder(), "tmp");

        var run = await TrainerProcess.RunAsync(
            ["recommender", "--generate", "--users", "300", "--items", "200", "--interactions", "20000", "--epochs", "2", "--out", output],
            new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = tracking.Uri, ["MLFLOW_RUN_ID"] = RunId, ["MLFLOW_TRACKING_TOKEN"] = "run-token" });

        run.ExitCode.ShouldBe(0, run.Stderr);
        run.Stderr.ShouldBeEmpty();
        Directory.GetFiles(output).Select(Path.GetFileName).Order().ShouldBe(["baseline.json", "metrics.json", "model.onnx", "params.json"]);
        run.Stdout.ShouldContain("device cpu");

        var epochs = run.Lines("EMO_EPOCH ").Select(l => JsonDocument.Parse(l).RootElement).ToList();
        epochs.Select(e => e.GetProperty("epoch").GetInt32()).ShouldBe([1, 2]);
        epochs.ShouldAllBe(e => e.GetProperty("epochs").GetInt32() == 2 && e.GetProperty("seconds").GetDouble() > 0);
        Numbers(epochs[1].GetProperty("metrics")).Keys.ShouldBe(["loss", "hr@10", "ndcg@10"]);

        var result = run.Lines("EMO_RESULT ").ShouldHaveSingleItem();
        var metrics = Numbers(JsonDocument.Parse(result).RootElement.GetProperty("metrics"));
        new[] { "hr@10", "ndcg@10", "baseline_hr@10", "baseline_ndcg@10", "loss", "users", "items", "interactions", "onnx_max_abs_diff" }.ShouldBeSubsetOf(metrics.Keys);
        metrics["hr@10"].ShouldBeInRange(0, 1);
        metrics["onnx_max_abs_diff"].ShouldBeLessThanOrEqualTo(1e-4);
        (metrics["users"], metrics["interactions"]).ShouldBe((300, 20000));
        Numbers(JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json"))).RootElement).ShouldBe(metrics);
        using var parameters = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "params.json")));
        parameters.RootElement.GetProperty("epochs").GetInt32().ShouldBe(2);
        parameters.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetInt32()).ShouldBe([64, 32, 16, 8]);
        using var baseline = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "baseline.json")));
        baseline.RootElement.GetProperty("outputs").GetProperty("score").GetProperty("histogram").GetProperty("counts").GetArrayLength().ShouldBe(20);
        // drift references: every user's training activity once (they sum to the training interactions), every known user
        // "not unknown" (categorical 0s), and the popularity of the top 10 recommended to up to 500 training users
        var inputs = baseline.RootElement.GetProperty("inputs");
        var activity = Reference(inputs.GetProperty("user_activity"));
        (activity.Length, activity.Sum()).ShouldBe((300, metrics["train_interactions"]));
        activity.ShouldBe(activity.Order().ToArray());
        Reference(inputs.GetProperty("unknown_user")).ShouldBe(new double[300]);
        inputs.GetProperty("unknown_user").GetProperty("categorical").GetBoolean().ShouldBeTrue();
        var popularity = baseline.RootElement.GetProperty("outputs").GetProperty("recommended_popularity");
        popularity.GetProperty("count").GetInt32().ShouldBe(300 * 10);
        Reference(popularity).Length.ShouldBe(1000);
        Reference(popularity).ShouldAllBe(p => p >= 1 && p <= 300, "each recommended item counted by its users");

        // tracking: params at the start, one batch per epoch, the final metrics
        var calls = tracking.Requests.ToArray();
        calls.Length.ShouldBe(4);
        calls.ShouldAllBe(c => c.Path == "/api/2.0/mlflow/runs/log-batch" && c.Authorization == "Bearer run-token");
        calls.ShouldAllBe(c => c.Body.GetProperty("run_id").GetString() == RunId);
        calls[0].Body.GetProperty("params").EnumerateArray().ShouldContain(p => p.GetProperty("key").GetString() == "epochs" && p.GetProperty("value").GetString() == "2");
        calls[1].Body.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("key").GetString()).ShouldBe(["loss", "hr@10", "ndcg@10"]);
        calls[2].Body.GetProperty("metrics").EnumerateArray().ShouldAllBe(m => m.GetProperty("step").GetInt32() == 2);
        calls[3].Body.GetProperty("metrics").EnumerateArray().ShouldContain(m => m.GetProperty("key").GetString() == "baseline_hr@10");
    }

    [Fact]
    public async Task Given_generated_sensor_readings_When_the_anomaly_detector_runs_Then_it_reports_detection_quality()
    {
        var output = Temp.Folder();

        var run = await TrainerProcess.RunAsync(["anomaly", "--generate", "--machines", "2", "--days", "4", "--epochs", "2", "--hidden", "32,8", "--out", output]);

        run.ExitCode.ShouldBe(0, run.Stderr);
        foreach (var file in new[] { "model.onnx", "baseline.json", "metrics.json", "params.json", "scores.csv" })
            File.Exists(Path.Combine(output, file)).ShouldBeTrue(file);
        run.Lines("EMO_EPOCH ").Count.ShouldBe(2);
        var metrics = Numbers(JsonDocument.Parse(run.Lines("EMO_RESULT ").ShouldHaveSingleItem()).RootElement.GetProperty("metrics"));
        new[] { "tpr", "fpr", "precision", "recall", "auc", "threshold", "loss" }.ShouldBeSubsetOf(metrics.Keys);
        // Episodes, and the same figures for the rolling z-score on the same split.
        new[] { "episodes", "false_episodes_per_day", "events", "events_detected", "zscore_auc", "zscore_false_episodes_per_day", "zscore_events_detected" }
            .ShouldBeSubsetOf(metrics.Keys);
        metrics["events_detected"].ShouldBeLessThanOrEqualTo(metrics["events"]);
        var scores = File.ReadAllLines(Path.Combine(output, "scores.csv"));
        (scores.Length - 1).ShouldBe((int)metrics["test_windows"], "one line per test window");
        scores.Skip(1).Count(l => l.Split(',')[4] == "1").ShouldBe((int)Math.Round(metrics["fpr"] * (metrics["test_windows"] - metrics["test_anomalous_windows"])
            + metrics["tpr"] * metrics["test_anomalous_windows"]), "the alarms of scores.csv are the ones tpr and fpr count");
        scores.Skip(1).Select(l => l.Split(',')[5]).Where(e => e.Length > 0).Distinct().Count().ShouldBe((int)metrics["episodes"]);
        metrics["auc"].ShouldBeInRange(0, 1);
        metrics["fpr_vs_target"].ShouldBe(metrics["fpr"] / 0.05, 1e-6); // both as reported, rounded to 7 digits
        run.Stdout.Contains("does not hold there").ShouldBe(metrics["fpr"] > EventMlOps.Training.Anomaly.AnomalyTrainer.HoldsWithin * 0.05, "the warning comes exactly when the realised rate exceeds 1.5× the target");
        using var baseline = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "baseline.json")));
        baseline.RootElement.GetProperty("inputs").EnumerateObject().Select(p => p.Name).ShouldBe(["temperature", "vibration", "pressure"]);
        // drift references: the readings of each channel and the training windows' scores, all or 1,000 quantiles, sorted
        foreach (var feature in baseline.RootElement.GetProperty("inputs").EnumerateObject().Concat(baseline.RootElement.GetProperty("outputs").EnumerateObject()))
        {
            var reference = Reference(feature.Value);
            reference.Length.ShouldBe((int)Math.Min(feature.Value.GetProperty("count").GetInt64(), 1000), feature.Name);
            reference.ShouldBe(reference.Order().ToArray());
            (reference[0], reference[^1]).ShouldBe((feature.Value.GetProperty("min").GetDouble(), feature.Value.GetProperty("max").GetDouble()));
        }
        baseline.RootElement.GetProperty("outputs").GetProperty("error").GetProperty("count").GetDouble().ShouldBe(metrics["train_windows"], "one score per training window");
    }

    [Fact]
    public async Task Given_a_malformed_ratings_file_When_the_recommender_runs_Then_it_exits_2_naming_the_line()
    {
        var data = Temp.File("196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\tone\t878887116\n", "u.data");

        var run = await TrainerProcess.RunAsync(["recommender", "--data", data, "--out", Temp.Folder()]);

        run.ExitCode.ShouldBe(2);
        run.Stderr.ShouldContain("line 3:");
        run.Lines("EMO_RESULT ").ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_something_that_is_not_a_detector_When_scoring_with_it_Then_it_exits_2_saying_so_without_its_content()
    {
        var readings = Temp.File("timestamp,x\n2026-01-01T00:00:00Z,1\n", "readings.csv");
        var notAModel = Temp.File("secret-token-in-a-file\n", "model.onnx");

        var noOut = await TrainerProcess.RunAsync(["anomaly", "score", "--model", notAModel, "--data", readings]);
        var garbage = await TrainerProcess.RunAsync(["anomaly", "score", "--model", notAModel, "--data", readings, "--out", Path.Combine(Temp.Folder(), "s.csv")]);

        (noOut.ExitCode, garbage.ExitCode).ShouldBe((2, 2));
        noOut.Stderr.ShouldContain("--out <scores.csv> is required");
        garbage.Stderr.ShouldContain("model.onnx is not an ONNX model");
        garbage.Stderr.ShouldNotContain("secret-token");
    }

    [Fact]
    public async Task Given_an_unknown_option_When_a_trainer_runs_Then_it_exits_2_with_a_clear_message()
    {
        var run = await TrainerProcess.RunAsync(["anomaly", "--generate", "--out", Temp.Folder(), "--windw", "20"]);

        run.ExitCode.ShouldBe(2);
        run.Stderr.ShouldContain("unknown option '--windw' for the anomaly trainer");
    }
}
