using System.Globalization;
using EventMlOps.Cli.Tests.Testing;

namespace EventMlOps.Cli.Tests.Training;

/// <summary><c>emo score</c>: a registered detector, read back from the artifact store and checked, over a CSV offline.</summary>
public sealed class ScoringTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_registered_detector_When_a_csv_is_scored_by_alias_latest_Then_every_window_is_in_scores_csv_and_other_models_are_refused()
    {
        var lifecycle = new Lifecycle(cp);
        var detector = "d-" + Guid.NewGuid().ToString("N")[..10];
        var trained = (await lifecycle.Alice.RunAsync("train", "anomaly", "--model", detector, "--epochs", "1", "--generate", "machines=1,days=1",
            "--seed", Random.Shared.Next(1, int.MaxValue).ToString(CultureInfo.InvariantCulture), "--json")).ShouldSucceed().Json();
        if (trained.GetProperty("registeredVersion").ValueKind != System.Text.Json.JsonValueKind.Number)
            (await lifecycle.Alice.RunAsync("versions", "register", detector, "--run", trained.GetProperty("runId").GetGuid().ToString())).ShouldSucceed();
        var folder = Directory.CreateTempSubdirectory("emo-cli-score-").FullName;
        var readings = Path.Combine(folder, "readings.csv");
        // One machine, two hours of one reading a minute, near the generator's normal operation.
        File.WriteAllLines(readings, ["timestamp,machine,temperature,vibration,pressure", .. Enumerable.Range(0, 120).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"{new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(i):yyyy-MM-ddTHH:mm:ssZ},press-7,{60 + i % 3},{2 + 0.01 * (i % 5)},{5 + 0.01 * (i % 7)}"))]);
        var scores = Path.Combine(folder, "scores.csv");

        var scored = (await lifecycle.Alice.RunAsync("score", $"{detector}@latest", "--data", readings, "--out", scores)).ShouldSucceed();

        scored.Out.ShouldContain($"scoring with {detector}@1");
        scored.Out.ShouldContain("verified");
        scored.Out.ShouldContain("scored 91 windows of 30 readings");
        var lines = File.ReadAllLines(scores);
        lines[0].ShouldBe("machine,end,score,threshold,alarm,episode,label");
        lines.Length.ShouldBe(92, "one line per window: 120 readings, windows of 30");
        lines[1].ShouldStartWith("\"press-7\",2026-01-01T00:29:00.000Z,");

        var (_, _, recommender) = await lifecycle.RegisteredVersionAsync();
        var refused = await lifecycle.Alice.RunAsync("score", recommender, "--data", readings, "--out", scores);
        refused.ExitCode.ShouldBe(2);
        refused.Err.ShouldContain("not an anomaly detector");
        var unknownAlias = await lifecycle.Alice.RunAsync("score", $"{detector}@champion", "--data", readings);
        unknownAlias.ExitCode.ShouldBe(2);
        unknownAlias.Err.ShouldContain($"model '{detector}' has no alias 'champion'");

        // A model altered in the artifact store after it was registered is refused, not scored.
        File.AppendAllText(new Uri(trained.GetProperty("artifact").GetString()!).LocalPath, "tampered");
        var altered = await lifecycle.Alice.RunAsync("score", $"{detector}@1", "--data", readings, "--out", Path.Combine(folder, "altered.csv"));
        altered.ExitCode.ShouldBe(2);
        altered.Err.ShouldContain($"the model of {detector}@1 was altered");
        File.Exists(Path.Combine(folder, "altered.csv")).ShouldBeFalse();
    }
}
