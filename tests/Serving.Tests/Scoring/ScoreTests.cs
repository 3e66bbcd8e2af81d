using System.Net;
using System.Text.Json;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Scoring;

public class ScoreTests(TrainedModels models)
{
    private const int Steps = 30, Features = 3, Width = Steps * Features;

    /// <summary>Readings near the generator's normal operation (temperature, vibration, pressure), and one far off.</summary>
    private static float[] Window(int seed, bool broken = false)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, Width).Select(i => (i % Features) switch
        {
            0 => 60 + (float)rng.NextDouble(),
            1 => 2 + 0.1f * (float)rng.NextDouble(),
            _ => 5 + 0.1f * (float)rng.NextDouble(),
        } * (broken && i / Features > 20 ? 10 : 1)).ToArray();
    }

    [Fact]
    public async Task Given_windows_When_scored_Then_each_error_equals_the_original_model_with_the_threshold_and_verdict()
    {
        var host = await models.SharedAsync();
        float[][] windows = [Window(1), Window(2), Window(3, broken: true)];
        var direct = DirectOrt.AnomalyErrors(models.AnomalyPath, windows.SelectMany(w => w).ToArray(), Width);

        var (status, body, version) = await host.PostJson("/score", JsonSerializer.Serialize(new { windows }));

        status.ShouldBe(HttpStatusCode.OK, body.ToString());
        version.ShouldBe("sensors@1");
        var threshold = body.GetProperty("threshold").GetDouble();
        var results = body.GetProperty("results").EnumerateArray().ToList();
        results.Count.ShouldBe(3);
        for (var w = 0; w < 3; w++)
        {
            results[w].GetProperty("score").GetSingle().ShouldBe(direct[w], Math.Max(1e-5, 1e-5 * direct[w]));
            results[w].GetProperty("anomaly").GetBoolean().ShouldBe(direct[w] > threshold);
        }
        results[2].GetProperty("anomaly").GetBoolean().ShouldBeTrue();
    }

    [Theory]
    [InlineData("30")]
    [InlineData("lots")]
    public async Task Given_a_detector_whose_gap_fill_is_not_under_its_window_When_scored_offline_Then_emo_train_refuses_it_with_exit_2(string gapFill)
    {
        var forged = models.WithFaults(TrainedModels.Sensors, 1, models.AnomalyPath, EventMlOps.Models.InjectedFaults.None,
            new KeyValuePair<string, string>(EventMlOps.Models.ModelMetadata.GapFill, gapFill)).ArtifactUri;
        var readings = Path.Combine(models.Folder, $"readings-{Guid.NewGuid():N}.csv");
        await TrainedModels.RunTrainerAsync("generate", "sensors", "--machines", "1", "--days", "0.2", "--out", readings);

        var refused = await Should.ThrowAsync<InvalidOperationException>(() => TrainedModels.RunTrainerAsync("anomaly", "score", "--model", new Uri(forged).LocalPath,
            "--data", readings, "--out", Path.Combine(models.Folder, $"scores-{Guid.NewGuid():N}.csv")));

        refused.Message.ShouldStartWith("emo-train anomaly exited with 2: error: --model: its 'gap_fill' is not fewer readings than a window");
    }

    [Fact]
    public async Task Given_a_readings_csv_When_scored_offline_by_emo_train_Then_each_window_s_score_and_alarm_are_what_score_answers_for_it()
    {
        var host = await models.SharedAsync();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var (readings, scores) = (Path.Combine(models.Folder, $"readings-{Guid.NewGuid():N}.csv"), Path.Combine(models.Folder, $"scores-{Guid.NewGuid():N}.csv"));
        await TrainedModels.RunTrainerAsync("generate", "sensors", "--machines", "2", "--days", "1", "--normal-fraction", "0.5", "--out", readings);

        await TrainedModels.RunTrainerAsync("anomaly", "score", "--model", models.AnomalyPath, "--data", readings, "--out", scores);

        // machine,timestamp,temperature,vibration,pressure,label — one reading a minute, no gaps.
        var series = File.ReadLines(readings).Skip(1).Select(l => l.Split(',')).GroupBy(f => f[0])
            .ToDictionary(g => g.Key, g => g.OrderBy(f => f[1], StringComparer.Ordinal).ToList());
        var lines = File.ReadLines(scores).Skip(1).Select(l => l.Split(',')).ToList();
        lines.Count.ShouldBe(series.Values.Sum(s => s.Count - Steps + 1), "every window of every machine");
        lines.Count(l => l[4] == "1").ShouldBeGreaterThan(0);
        var sample = lines.Where((_, i) => i % 61 == 0).Take(40).ToList();
        float[] Window(string[] line)
        {
            var readingsOf = series[line[0].Trim('"')];
            var end = readingsOf.FindIndex(f => DateTimeOffset.Parse(f[1], inv) == DateTimeOffset.Parse(line[1], inv));
            return [.. readingsOf.Skip(end - Steps + 1).Take(Steps).SelectMany(f => f[2..5].Select(v => float.Parse(v, inv)))];
        }

        var (status, body, _) = await host.PostJson("/score", JsonSerializer.Serialize(new { windows = sample.Select(Window).ToArray() }));

        status.ShouldBe(HttpStatusCode.OK, body.ToString());
        body.GetProperty("threshold").GetDouble().ShouldBe(double.Parse(sample[0][3], inv));
        var results = body.GetProperty("results").EnumerateArray().ToList();
        for (var i = 0; i < sample.Count; i++)
        {
            var offline = double.Parse(sample[i][2], inv);
            results[i].GetProperty("score").GetSingle().ShouldBe((float)offline, Math.Max(1e-5, 1e-5 * offline), $"window ending {sample[i][1]}");
            results[i].GetProperty("anomaly").GetBoolean().ShouldBe(sample[i][4] == "1");
        }
    }

    [Fact]
    public async Task Given_a_version_without_traffic_When_a_request_pins_it_Then_that_version_scores_and_a_bad_pin_is_refused_with_the_loaded_ones()
    {
        // The same detector as version 1 (all traffic) and version 2 (weight 0: loaded, taking no traffic).
        await using var host = await ServingHost.StartAsync(models, [models.Anomaly(), models.Anomaly(weight: 0) with { Version = 2 }]);
        var body = JsonSerializer.Serialize(new { window = Window(5) });
        async Task<(HttpStatusCode Status, JsonElement Body, string? Version)> Score(string? pin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/score") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            if (pin is not null) request.Headers.Add("X-Model-Version", pin);
            return await ServingHost.Read(await host.Client.SendAsync(request));
        }

        var unpinned = await Score(null);
        var pinned = await Score("2");
        var unknown = await Score("7");
        var garbage = await Score("2; drop");

        (unpinned.Status, unpinned.Version).ShouldBe((HttpStatusCode.OK, "sensors@1"));
        (pinned.Status, pinned.Version).ShouldBe((HttpStatusCode.OK, "sensors@2"), pinned.Body.ToString());
        pinned.Body.GetProperty("version").GetInt32().ShouldBe(2);
        pinned.Body.GetProperty("score").GetSingle().ShouldBe(unpinned.Body.GetProperty("score").GetSingle(), "the same model file");
        unknown.Status.ShouldBe(HttpStatusCode.BadRequest);
        unknown.Body.GetProperty("detail").GetString().ShouldBe("version 7 of the anomaly model is not loaded here (loaded: 1, 2)");
        garbage.Status.ShouldBe(HttpStatusCode.BadRequest);
        garbage.Body.GetProperty("detail").GetString()!.ShouldContain("X-Model-Version must be a version number");
        // Pinned requests are not live traffic: counted under their own route, which canary analysis does not read.
        var metrics = await host.Client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        metrics.Split('\n').Count(l => l.StartsWith("emo_serving_request_duration_seconds_count", StringComparison.Ordinal) && l.Contains("route=\"score-pinned\"")
            && l.Contains("version=\"2\"")).ShouldBe(1);
        metrics.Split('\n').Any(l => l.StartsWith("emo_serving_request_duration_seconds_count", StringComparison.Ordinal) && l.Contains("route=\"score\"")
            && l.Contains("version=\"2\"")).ShouldBeFalse();
        EventMlOps.Agents.Rollout.MetricsSnapshot.InferenceRoutes.ShouldNotContain(EventMlOps.Serving.Scoring.ScoreEndpoint.PinnedRoute);
    }

    [Fact]
    public async Task Given_one_window_as_steps_of_readings_When_scored_Then_the_score_is_that_of_the_flat_window()
    {
        var host = await models.SharedAsync();
        var flat = Window(4);
        var steps = flat.Chunk(Features).ToArray();

        var (_, one, _) = await host.PostJson("/score", JsonSerializer.Serialize(new { window = flat }));
        var (status, nested, _) = await host.PostJson("/score", JsonSerializer.Serialize(new { window = steps }));

        status.ShouldBe(HttpStatusCode.OK, nested.ToString());
        nested.GetProperty("score").GetSingle().ShouldBe(one.GetProperty("score").GetSingle());
        nested.TryGetProperty("anomaly", out _).ShouldBeTrue();
        nested.TryGetProperty("threshold", out _).ShouldBeTrue();
    }

    [Theory]
    [InlineData("", "the body is empty")]
    [InlineData("{\"window\": [1, 2", "not valid JSON")]
    [InlineData("[1, 2, 3]", "not an object")]
    [InlineData("{\"readings\": [1]}", "no windows")]
    [InlineData("{\"windows\": []}", "no windows")]
    [InlineData("{\"window\": [1, 2, 3]}", "window 0 has 3 readings: expected 30 steps × 3 features (temperature, vibration, pressure) = 90")]
    [InlineData("{\"window\": [[1, 2]]}", "a step has 2 readings, expected 3")]
    [InlineData("{\"window\": \"hot\"}", "window 0 is not an array")]
    [InlineData("{\"window\": [\"a\"]}", "readings must be numbers")]
    [InlineData("{\"window\": [1, 1e39]}", "window 0: reading 1 is beyond the range of float32")]
    [InlineData("{\"windows\": [[3e38, 0, 0]]}", "window 0 has 3 readings")]
    public async Task Given_bad_input_When_scoring_Then_400_problem_with_the_reason(string json, string reason)
    {
        var host = await models.SharedAsync();

        var response = await host.Client.PostAsync("/score", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        await response.ShouldBeProblem(HttpStatusCode.BadRequest, reason);
    }

    [Fact]
    public async Task Given_a_reading_far_outside_the_training_data_When_scoring_Then_400_naming_where_before_the_model_runs()
    {
        var host = await models.SharedAsync();
        var far = Window(2);
        far[2 * Features + 1] = 3e38f; // a value the autoencoder's squares overflow on

        var response = await host.Client.PostAsync("/score", new StringContent(JsonSerializer.Serialize(new { windows = new[] { Window(1), far } }),
            System.Text.Encoding.UTF8, "application/json"));

        await response.ShouldBeProblem(HttpStatusCode.BadRequest, "window 1, step 2, vibration: a reading more than 1,000,000 standard deviations from the training mean");
    }

    [Fact]
    public async Task Given_a_body_over_the_limit_When_scoring_Then_413()
    {
        var host = await models.SharedAsync();
        var windows = Enumerable.Range(0, 200).Select(i => Window(i)).ToArray(); // ≈ 200 × 90 readings, over the host's 64 KiB

        var response = await host.Client.PostAsync("/score", new StringContent(JsonSerializer.Serialize(new { windows }), System.Text.Encoding.UTF8, "application/json"));

        await response.ShouldBeProblem(HttpStatusCode.RequestEntityTooLarge, "too large");
    }
}
