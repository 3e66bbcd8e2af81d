using EventMlOps.Models;
using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Running;
using EventMlOps.Training.Tests.Testing;
using TorchSharp;

namespace EventMlOps.Training.Tests.Anomaly;

[Collection(TorchCollection.Name)]
public class AnomalyExportTests
{
    [Fact]
    public void Given_a_trained_autoencoder_When_exported_Then_ONNX_Runtime_reproduces_reconstruction_and_error()
    {
        using var f = Fitted.Train(Centring.Training, normalFraction: 0.8, epochs: 2);
        var path = Path.Combine(Temp.Folder(), "model.onnx");

        OnnxGraph.Save(AnomalyExport.Build(f.Model, 3, f.CentreTiled, f.ScaleTiled, f.Scorer.ResidualScale,
            AnomalyExport.Metadata(f.Data.Features, 10, 2, f.Centre, f.Scale, f.Scorer.ResidualScale[..3], 1.5, 0.05, f.Model.Sizes, 60_000, new Metrics())), path);
        var diff = AnomalyTrainer.Verify(f.Scorer, path, f.Test, new Random(5), samples: 256);

        f.Losses[1].ShouldBeLessThan(f.Losses[0], "training reduces the reconstruction error");
        diff.Passes.ShouldBeTrue();
        diff.Absolute.ShouldBeLessThan(1e-2, "raw reconstructions (tens of °C) and scores (up to thousands) in float32");
        f.Model.Sizes.ShouldBe([30, 16, 4, 16, 30]);
        var metadata = OnnxCheck.Metadata(path);
        metadata["model_kind"].ShouldBe("anomaly");
        metadata["threshold"].ShouldBe("1.5");
        metadata["window"].ShouldBe("10");
        metadata["features"].ShouldBe("temperature,vibration,pressure");
        metadata["feature_schema"].ShouldContain("\"window\":10");
        metadata["normalisation"].ShouldContain("\"mean\":[");
    }

    [Fact]
    public void Given_normal_windows_When_the_residual_scale_is_calibrated_Then_they_score_about_one()
    {
        torch.manual_seed(4);
        var data = SensorGenerator.Generate(new SensorGeneratorOptions(Machines: 2, Days: 3, NormalFraction: 0.9, Seed: 4));
        var split = new TimelineSplit(0.6, 0.2);
        var (mean, std) = AnomalyTrainer.Normalisation(data, split);
        var train = TimelineSplit.Windows(data, 10, 1, split.Train);
        using var model = new Autoencoder(train.Width, [16, 4]);
        using var scorer = new WindowScorer(model, AnomalyTrainer.Tile(mean, 10), AnomalyTrainer.Tile(std, 10), 3, torch.CPU);

        scorer.Calibrate(train.Values, train.Width);
        var errors = scorer.Score(train.Values, train.Width).Errors;

        // per feature the mean standardised squared residual over all windows is exactly 1; the score takes the
        // largest feature per window, so its mean lies a little above 1
        errors.Average().ShouldBeInRange(0.999f, 3.001f);
    }

    [Fact]
    public void Given_training_readings_When_normalisation_is_learned_Then_it_uses_only_the_training_part()
    {
        var series = new MachineSeries { Machine = "m", Timestamps = [0, 1, 2, 3, 4], Values = [1, 3, 1, 3, 100] };
        var data = new SensorData { Features = ["a"], Machines = [series] };

        var (mean, std) = AnomalyTrainer.Normalisation(data, new TimelineSplit(0.8, 0.1));

        mean.ShouldBe([2f]);
        std.ShouldBe([2 / 1.349f]); // quartiles 1 and 3
    }

    [Theory]
    [InlineData(Centring.Window)]
    [InlineData(Centring.Training)]
    public void Given_a_detector_centred_as_chosen_When_exported_and_every_temperature_reads_6_degrees_more_Then_ONNX_Runtime_agrees_and_only_window_centring_ignores_the_shift(
        Centring centring)
    {
        using var f = Fitted.Train(centring, normalFraction: 1, epochs: 3);
        var path = Path.Combine(Temp.Folder(), "model.onnx");

        OnnxGraph.Save(AnomalyExport.Build(f.Model, 3, f.CentreTiled, f.ScaleTiled, f.Scorer.ResidualScale,
            AnomalyExport.Metadata(f.Data.Features, 10, 1, f.Centre, f.Scale, f.Scorer.ResidualScale[..3], 1.5, 0.05, f.Model.Sizes, 60_000, new Metrics(), centring),
            centring), path);

        AnomalyTrainer.Verify(f.Scorer, path, f.Test, new Random(5), samples: 256).Passes.ShouldBeTrue();
        var shifted = f.Test.Values.Select((v, i) => i % 3 == 0 ? v + 6 : v).ToArray();
        var (before, after) = (f.Scorer.Score(f.Test.Values, f.Test.Width).Errors.Average(), f.Scorer.Score(shifted, f.Test.Width).Errors.Average());
        if (centring == Centring.Window) after.ShouldBe(before, 1e-3 * before, "only the windows' shapes count");
        else after.ShouldBeGreaterThan(10 * before, "the level counts");
        OnnxCheck.Metadata(path)["normalisation"].ShouldContain($"\"centre\":\"{(centring == Centring.Window ? "window" : "training")}\"");
    }

    /// <summary>A small autoencoder trained for a few epochs on 2 generated machines × 3 days (windows of 10, stride 2), calibrated.</summary>
    private sealed record Fitted(SensorData Data, WindowSet Test, float[] Centre, float[] Scale, Autoencoder Model, WindowScorer Scorer, double[] Losses) : IDisposable
    {
        public float[] CentreTiled => AnomalyTrainer.Tile(Centre, 10);
        public float[] ScaleTiled => AnomalyTrainer.Tile(Scale, 10);

        public static Fitted Train(Centring centring, double normalFraction, int epochs)
        {
            torch.manual_seed(3);
            var data = SensorGenerator.Generate(new SensorGeneratorOptions(Machines: 2, Days: 3, NormalFraction: normalFraction, Seed: 3));
            var split = new TimelineSplit(0.6, 0.2);
            var (centre, scale) = AnomalyTrainer.Normalisation(data, split);
            var train = TimelineSplit.Windows(data, 10, 2, split.Train);
            var model = new Autoencoder(train.Width, [16, 4]);
            var scorer = new WindowScorer(model, AnomalyTrainer.Tile(centre, 10), AnomalyTrainer.Tile(scale, 10), 3, torch.CPU, centring);
            using var optimizer = torch.optim.Adam(model.parameters(), 0.005);
            using var x = scorer.Normalise(torch.tensor(train.Values, [train.Count, train.Width]));
            var losses = Enumerable.Range(0, epochs).Select(e => AnomalyTrainer.TrainEpoch(model, optimizer, x, 128, new Random(3 + e), torch.CPU)).ToArray();
            scorer.Calibrate(train.Values, train.Width);
            return new Fitted(data, TimelineSplit.Windows(data, 10, 1, split.Test), centre, scale, model, scorer, losses);
        }

        public void Dispose()
        {
            Scorer.Dispose();
            Model.Dispose();
        }
    }
}
