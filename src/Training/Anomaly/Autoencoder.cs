using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EventMlOps.Training.Anomaly;

/// <summary>A dense autoencoder: <c>input → hidden[0] → … → hidden[^1] (bottleneck, linear) → … → hidden[0] →
/// input</c>, ReLU after every other hidden layer, linear output.</summary>
public sealed class Autoencoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Linear> layers = new();

    public Autoencoder(int inputs, int[] hidden) : base(nameof(Autoencoder))
    {
        Sizes = [inputs, .. hidden, .. hidden.Reverse().Skip(1), inputs];
        for (var i = 1; i < Sizes.Length; i++) layers.Add(nn.Linear(Sizes[i - 1], Sizes[i]));
        Bottleneck = hidden.Length - 1;
        RegisterComponents();
    }

    /// <summary>Layer widths from input to output.</summary>
    public int[] Sizes { get; }

    /// <summary>Index of the layer that produces the code (no activation after it).</summary>
    public int Bottleneck { get; }

    public bool Activated(int layer) => layer != Bottleneck && layer != layers.Count - 1;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        for (var i = 0; i < layers.Count; i++)
        {
            x = layers[i].forward(x);
            if (Activated(i)) x = nn.functional.relu(x);
        }
        return x.MoveToOuterDisposeScope();
    }

    public (float[] Weight, float[] Bias)[] Weights()
        => layers.Select(l => (l.weight!.detach().cpu().data<float>().ToArray(), l.bias!.detach().cpu().data<float>().ToArray())).ToArray();
}

/// <summary>How a window is centred before scaling: on the training readings' per-feature median (a reading's level
/// counts: drifts show), or on the window's own per-feature mean (only its shape counts: a level shift after training
/// does not alarm, nor does a slow drift).</summary>
public enum Centring { Training, Window }

/// <summary>The scoring pipeline that the ONNX model reproduces: normalise a raw window (centred as
/// <see cref="Centring"/> says, scaled by the training readings' robust scale), reconstruct it, and score it by its standardised reconstruction error: per feature, the mean over the
/// window of squared residuals divided by that feature's mean squared residual on the training windows (about 1 on
/// normal data, whatever each sensor's noise), and of those the largest (a fault of one sensor is not diluted by the
/// healthy ones).</summary>
public sealed class WindowScorer(Autoencoder model, float[] mean, float[] std, int features, Device device, Centring centring = Centring.Training) : IDisposable
{
    private readonly Tensor _mean = tensor(mean, device: device);
    private readonly Tensor _std = tensor(std, device: device);
    private Tensor _residualScale = ones(mean.Length, device: device);

    /// <summary>Per input position (tiled per feature): the residual scale the squared residuals are divided by.</summary>
    public float[] ResidualScale { get; private set; } = Enumerable.Repeat(1f, mean.Length).ToArray();

    /// <summary>Sets the residual scale from windows of normal data: per feature, the root mean squared residual.</summary>
    public void Calibrate(float[] raw, int width)
    {
        var squared = new double[features];
        long n = 0;
        SetResidualScale(Enumerable.Repeat(1f, width).ToArray());
        var (_, reconstructions) = Score(raw, width, reconstructions: true, normalisedReconstructions: true);
        var normalised = NormaliseArray(raw);
        for (var i = 0; i < raw.Length; i++)
        {
            var r = reconstructions![i] - normalised[i];
            squared[i % features] += r * r;
            if (i % features == 0) n++;
        }
        var perFeature = squared.Select(s => (float)Math.Max(1e-6, Math.Sqrt(s / Math.Max(1, n)))).ToArray();
        SetResidualScale(Enumerable.Range(0, width).Select(i => perFeature[i % features]).ToArray());
    }

    private void SetResidualScale(float[] scale)
    {
        _residualScale.Dispose();
        _residualScale = tensor(scale, device: _mean.device);
        ResidualScale = scale;
    }

    private float[] NormaliseArray(float[] raw)
    {
        using var scope = NewDisposeScope();
        var width = (int)_mean.shape[0];
        return Normalise(tensor(raw, [raw.Length / width, width], device: _mean.device)).cpu().data<float>().ToArray();
    }

    /// <summary><paramref name="raw"/> [N, width] → normalised [N, width].</summary>
    public Tensor Normalise(Tensor raw) => (raw - Centre(raw)) / _std;

    /// <summary>What a raw window [N, width] is centred on, per position: the training median, or the window's own mean.</summary>
    private Tensor Centre(Tensor raw) => centring == Centring.Training
        ? _mean
        : raw.view(raw.shape[0], -1, features).mean([1], keepdim: true).expand(raw.shape[0], raw.shape[1] / features, features).reshape(raw.shape[0], raw.shape[1]);

    /// <summary>Scores raw windows (row-major [n, width]) in chunks: errors, and the reconstructions in raw units
    /// when asked for.</summary>
    public (float[] Errors, float[]? Reconstructions) Score(float[] raw, int width, bool reconstructions = false, int chunk = 8192, bool normalisedReconstructions = false)
    {
        var n = raw.Length / width;
        var errors = new float[n];
        var recon = reconstructions ? new float[raw.Length] : null;
        using var _ = no_grad();
        model.eval();
        for (var start = 0; start < n; start += chunk)
        {
            using var scope = NewDisposeScope();
            var rows = Math.Min(chunk, n - start);
            var input = tensor(raw.AsSpan(start * width, rows * width).ToArray(), [rows, width], device: _mean.device);
            var x = Normalise(input);
            var y = model.forward(x);
            ((y - x) / _residualScale).square().view(rows, -1, features).mean([1]).amax([1]).cpu().data<float>().CopyTo(errors, start);
            if (recon is not null) (normalisedReconstructions ? y : y * _std + Centre(input)).cpu().data<float>().CopyTo(recon, start * width);
        }
        return (errors, recon);
    }

    public void Dispose()
    {
        _mean.Dispose();
        _std.Dispose();
        _residualScale.Dispose();
    }
}
