using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EventMlOps.Training.Recommender;

/// <summary>Neural matrix factorisation (He et al., 2017): a GMF tower (element-wise product of user and item
/// embeddings of <c>factors</c> dimensions) beside an MLP tower (concatenated user and item embeddings of
/// <c>layers[0]/2</c> dimensions each through ReLU layers <c>layers[1..]</c>), joined by one linear layer to a
/// logit. Initialisation as in the paper's code: embeddings N(0, 0.01), MLP Xavier-uniform, zero biases.</summary>
public sealed class NeuMF : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding gmfUser, gmfItem, mlpUser, mlpItem;
    private readonly ModuleList<Linear> mlp = new();
    private readonly Linear predict;

    public NeuMF(int users, int items, int factors, int[] layers) : base(nameof(NeuMF))
    {
        if (layers.Length < 1 || layers[0] % 2 != 0) throw new ArgumentException("layers[0] must be even: it is the concatenated user and item embedding");
        (Users, Items, Factors, Layers) = (users, items, factors, layers);
        gmfUser = nn.Embedding(users, factors);
        gmfItem = nn.Embedding(items, factors);
        mlpUser = nn.Embedding(users, layers[0] / 2);
        mlpItem = nn.Embedding(items, layers[0] / 2);
        for (var i = 1; i < layers.Length; i++) mlp.Add(nn.Linear(layers[i - 1], layers[i]));
        predict = nn.Linear(factors + layers[^1], 1);
        RegisterComponents();
        using (no_grad())
        {
            foreach (var e in new[] { gmfUser, gmfItem, mlpUser, mlpItem }) nn.init.normal_(e.weight!, 0, 0.01);
            foreach (var l in mlp)
            {
                nn.init.xavier_uniform_(l.weight!);
                nn.init.zeros_(l.bias!);
            }
            nn.init.kaiming_uniform_(predict.weight!, a: 1, nonlinearity: nn.init.NonlinearityType.Sigmoid);
            nn.init.zeros_(predict.bias!);
        }
    }

    public int Users { get; }
    public int Items { get; }
    public int Factors { get; }
    public int[] Layers { get; }

    /// <summary>Logits [N] for user and item indices [N] (int64).</summary>
    public override Tensor forward(Tensor user, Tensor item)
    {
        using var scope = NewDisposeScope();
        var gmf = gmfUser.forward(user) * gmfItem.forward(item);
        var h = cat([mlpUser.forward(user), mlpItem.forward(item)], 1);
        foreach (var layer in mlp) h = nn.functional.relu(layer.forward(h));
        return predict.forward(cat([gmf, h], 1)).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>Scores (sigmoid of the logits) for index pairs, in chunks, without gradients.</summary>
    public float[] Score(long[] users, long[] items, Device device, int chunk = 65536, bool logits = false)
    {
        var scores = new float[users.Length];
        using var _ = no_grad();
        var wasTraining = training;
        eval();
        for (var start = 0; start < users.Length; start += chunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(chunk, users.Length - start);
            var u = tensor(users.AsSpan(start, n).ToArray(), dtype: int64, device: device);
            var i = tensor(items.AsSpan(start, n).ToArray(), dtype: int64, device: device);
            var logit = forward(u, i);
            (logits ? logit : sigmoid(logit)).cpu().data<float>().CopyTo(scores, start);
        }
        if (wasTraining) train();
        return scores;
    }

    /// <summary>The weights the ONNX graph is built from (on the CPU, as float arrays).</summary>
    public NeuMFWeights Weights()
    {
        static float[] Of(Tensor? t) => t!.detach().cpu().data<float>().ToArray();
        return new NeuMFWeights(Of(gmfUser.weight), Of(gmfItem.weight), Of(mlpUser.weight), Of(mlpItem.weight),
            mlp.Select(l => (Of(l.weight), Of(l.bias))).ToArray(), Of(predict.weight), Of(predict.bias));
    }
}

public sealed record NeuMFWeights(float[] GmfUser, float[] GmfItem, float[] MlpUser, float[] MlpItem,
    (float[] Weight, float[] Bias)[] Mlp, float[] PredictWeight, float[] PredictBias);
