using System.Diagnostics;
using EventMlOps.Agents.Drift;
using EventMlOps.Contracts.Drift;

namespace EventMlOps.Agents.Tests.Drift;

/// <summary>The real trainers' baseline.json read by the drift agent's parser and scored: the feature names serving samples,
/// a reference for each, and drift only where the served values moved.</summary>
public class TrainerBaselineTests
{
    [Fact]
    public async Task Given_the_anomaly_trainers_baseline_When_parsed_and_scored_Then_its_channels_and_error_are_there_and_only_moved_values_drift()
    {
        var references = await TrainAsync("anomaly", "--machines", "2", "--days", "4", "--hidden", "32,8");

        references.Select(r => (r.Feature, r.Role)).ShouldBe([
            ("temperature", FeatureRole.Input), ("vibration", FeatureRole.Input), ("pressure", FeatureRole.Input),
            ("error", FeatureRole.Output), ("error_validation", FeatureRole.Output)]);
        var error = references.Single(r => r.Feature == "error");
        var same = DriftMeasure.Score(error, error.Values, DriftPolicy.Default);
        var moved = DriftMeasure.Score(error, error.Values.Select(v => v + 3 * error.Std).ToArray(), DriftPolicy.Default);
        Drifts(same).ShouldBeFalse();
        Drifts(moved).ShouldBeTrue();
    }

    /// <summary>Judged at the default thresholds, as the control plane does without a policy of the model's.</summary>
    private static bool Drifts(FeatureScore score) =>
        new DriftTest(score.Method, DriftTest.IsPValue(score.Method) ? DriftPolicy.PValue : DriftPolicy.Distance).Drifts(score.Score);

    [Fact]
    public async Task Given_the_recommenders_baseline_When_parsed_Then_unknown_users_are_a_category_and_their_arrival_drifts()
    {
        var references = await TrainAsync("recommender", "--users", "300", "--items", "200", "--interactions", "20000");

        references.Select(r => r.Feature).ShouldBe(["user", "item", "user_activity", "item_popularity", "unknown_user", "score", "recommended_popularity"]);
        var unknown = references.Single(r => r.Feature == "unknown_user");
        (unknown.Categorical, unknown.Count, unknown.Values.Distinct().Single()).ShouldBe((true, 300L, 0.0));
        DriftMeasure.Score(unknown, new double[50], DriftPolicy.Default).ShouldBe(new FeatureScore("unknown_user", FeatureRole.Input, DriftMethod.ChiSquared, 1, 50));
        DriftMeasure.Score(unknown, [0, 0, 0, 1], DriftPolicy.Default).Score.ShouldBe(0, "a user the model never saw");
        references.Single(r => r.Feature == "recommended_popularity").Role.ShouldBe(FeatureRole.Output);
    }

    private static async Task<IReadOnlyList<FeatureReference>> TrainAsync(string trainer, params string[] options)
    {
        var folder = Directory.CreateTempSubdirectory("emo-drift-baseline-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])[EventMlOps.Testing.TestHost.Built("Training", "emo-train.dll"), trainer, "--generate", .. options, "--epochs", "1", "--out", folder])
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
            process.ExitCode.ShouldBe(0, await stderr + await stdout);
            var skipped = new List<string>();
            var references = DriftBaseline.Parse(await File.ReadAllBytesAsync(Path.Combine(folder, "baseline.json")), skipped);
            skipped.ShouldBeEmpty();
            return references;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
