using System.Text.Json;
using EventMlOps.Contracts.Training;
using EventMlOps.Training.Tests.Testing;

namespace EventMlOps.Training.Tests.Trainers;

/// <summary>On a CPU the trainers are functions of their data, options and seed: two real processes given the same write
/// byte-identical model, baseline and params files and the same metrics, wall-clock times aside (which the model file leaves
/// out for that reason). What <c>emo runs reproduce</c> relies on.</summary>
public class DeterminismTests
{
    private static async Task<string> TrainAsync(params string[] args)
    {
        var output = Temp.Folder();
        var run = await TrainerProcess.RunAsync([.. args, "--out", output]);
        run.ExitCode.ShouldBe(0, run.Stderr);
        return output;
    }

    private static Dictionary<string, double> Metrics(string output) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json"))).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());

    private static void ShouldBeIdentical(string first, string second)
    {
        foreach (var file in new[] { "model.onnx", "baseline.json", "params.json" })
            File.ReadAllBytes(Path.Combine(second, file)).ShouldBe(File.ReadAllBytes(Path.Combine(first, file)), file);
        var (a, b) = (Metrics(first), Metrics(second));
        b.Keys.ShouldBe(a.Keys);
        b.Where(m => !TrainerProtocol.IsWallClock(m.Key)).ShouldBe(a.Where(m => !TrainerProtocol.IsWallClock(m.Key)));
        a.Keys.Where(TrainerProtocol.IsWallClock).ShouldBe(["seconds_per_epoch", "train_seconds", "onnx_export_seconds", "total_seconds"]);
    }

    [Fact]
    public async Task Given_the_same_data_and_seed_When_the_recommender_trains_twice_Then_its_outputs_are_identical_and_another_seed_changes_them()
    {
        string[] options = ["recommender", "--generate", "--users", "150", "--items", "200", "--interactions", "6000", "--epochs", "2", "--seed", "7"];

        var first = await TrainAsync(options);
        var second = await TrainAsync(options);
        var reseeded = await TrainAsync([.. options[..^1], "8"]);

        ShouldBeIdentical(first, second);
        Metrics(reseeded)["loss"].ShouldNotBe(Metrics(first)["loss"]);
        File.ReadAllBytes(Path.Combine(reseeded, "model.onnx")).ShouldNotBe(File.ReadAllBytes(Path.Combine(first, "model.onnx")));
    }

    /// <summary>libtorch splits its CPU work by the thread count (a hyperparameter a reproduction repeats): the same count, the
    /// same sums.</summary>
    [Fact]
    public async Task Given_the_same_data_seed_and_two_threads_When_the_anomaly_detector_trains_twice_Then_its_outputs_are_identical()
    {
        string[] options = ["anomaly", "--generate", "--machines", "2", "--days", "3", "--epochs", "2", "--hidden", "32,8", "--seed", "7", "--threads", "2"];

        ShouldBeIdentical(await TrainAsync(options), await TrainAsync(options));
    }
}
