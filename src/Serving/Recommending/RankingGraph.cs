using System.Runtime.InteropServices;
using EventMlOps.Models;
using Onnx;
using static EventMlOps.Models.OnnxGraph;
using DataType = Onnx.TensorProto.Types.DataType;

namespace EventMlOps.Serving.Recommending;

/// <summary>Turns the trainer's NeuMF graph (one score per (user, item) pair) into a ranking graph: input <c>user</c>
/// int64 [B] → <c>scores</c> float [B, I], every item for each user in one run. What depends only on items is computed
/// once here, at load: the item half of the first MLP layer (<c>item_h1 = mlp_item·W1_itemᵀ + b1</c>) and the GMF item
/// factors scaled by their prediction weights, so a request computes only its user's part.</summary>
/// <remarks>NeuMF's logit is <c>p·[gmf_user⊙gmf_item ; mlp(user, item)] + b</c>; its GMF half equals
/// <c>gmf_user · (gmf_item⊙p_gmf)ᵀ</c>, one [B,f]×[f,I] product instead of a [B,I,f] tensor and a concat.</remarks>
public static class RankingGraph
{
    private sealed record Matrix(float[] Data, int Rows, int Cols)
    {
        public float this[int r, int c] => Data[r * Cols + c];
    }

    public static ModelProto Build(ModelProto neumf)
    {
        var weights = neumf.Graph.Initializer.ToDictionary(t => t.Name);
        Matrix Get(string name)
        {
            if (!weights.TryGetValue(name, out var t)) throw new InvalidDataException($"the recommender graph has no initializer '{name}'");
            var data = t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : t.FloatData.ToArray();
            return new Matrix(data, t.Dims.Count > 1 ? (int)t.Dims[0] : 1, (int)t.Dims[^1]);
        }

        var (gmfUser, gmfItem, mlpUser, mlpItem) = (Get("gmf_user.weight"), Get("gmf_item.weight"), Get("mlp_user.weight"), Get("mlp_item.weight"));
        var layers = new List<(Matrix Weight, Matrix Bias)>();
        for (var l = 0; weights.ContainsKey($"mlp.{l}.weight"); l++) layers.Add((Get($"mlp.{l}.weight"), Get($"mlp.{l}.bias")));
        var (predict, predictBias) = (Get("predict.weight"), Get("predict.bias"));
        var (items, factors, half) = (gmfItem.Rows, gmfItem.Cols, mlpItem.Cols);
        if (layers.Count == 0 || layers[0].Weight.Cols != 2 * half || predict.Cols != factors + layers[^1].Weight.Rows)
            throw new InvalidDataException("the recommender graph's weights do not have NeuMF's shapes");

        var (w1, b1) = layers[0];
        var itemH1 = new float[items * w1.Rows];
        for (var i = 0; i < items; i++)
        for (var o = 0; o < w1.Rows; o++)
        {
            var sum = b1.Data[o];
            for (var k = 0; k < half; k++) sum += mlpItem[i, k] * w1[o, half + k];
            itemH1[i * w1.Rows + o] = sum;
        }
        var gmfItemScaledT = new float[factors * items];
        for (var k = 0; k < factors; k++)
        for (var i = 0; i < items; i++)
            gmfItemScaledT[k * items + i] = gmfItem[i, k] * predict.Data[k];
        var w1User = Enumerable.Range(0, w1.Rows).SelectMany(o => w1.Data.AsSpan(o * w1.Cols, half).ToArray()).ToArray(); // W1[:, :half]

        var g = new OnnxGraph("neumf_ranking", "emo-serve");
        g.Input("user", DataType.Int64, "B");
        var gmfUserRows = g.Node("Gather", [g.Initializer("gmf_user.weight", gmfUser.Data, gmfUser.Rows, factors), "user"], null, Int("axis", 0));
        var gmf = g.Node("MatMul", [gmfUserRows, g.Initializer("gmf_item_scaled_t", gmfItemScaledT, factors, items)]);
        var mlpUserRows = g.Node("Gather", [g.Initializer("mlp_user.weight", mlpUser.Data, mlpUser.Rows, half), "user"], null, Int("axis", 0));
        var userH1 = g.Node("Gemm", [mlpUserRows, g.Initializer("mlp.0.user", w1User, w1.Rows, half)], null, Int("transB", 1));
        // [B, I, h1] flattened to [B·I, h1]: the remaining layers are plain 2-D Gemms (MLAS's fast path), ~1.6× faster
        // per user than MatMuls over the 3-D tensor.
        var h = g.Node("Reshape", [
            g.Node("Relu", [g.Node("Add", [
                g.Node("Reshape", [userH1, g.Initializer("user_h1_shape", [-1L, 1, w1.Rows], 3)]),
                g.Initializer("mlp.0.item", itemH1, items, w1.Rows)])]),
            g.Initializer("pairs_shape", [-1L, w1.Rows], 2)]);
        for (var l = 1; l < layers.Count; l++)
            h = g.Node("Relu", [g.Linear(h, $"mlp.{l}", layers[l].Weight.Data, layers[l].Bias.Data, layers[l].Weight.Rows, layers[l].Weight.Cols)]);
        var mlp = g.Node("Reshape", [
            g.Node("MatMul", [h, g.Initializer("predict.mlp_t", predict.Data[factors..], predict.Cols - factors, 1)]),
            g.Initializer("scores_shape", [-1L, items], 2)]);
        var logit = g.Node("Add", [g.Node("Add", [gmf, mlp]), g.Initializer("predict.bias", predictBias.Data, 1)]);
        g.Node("Sigmoid", [logit], "scores");
        g.Output("scores", DataType.Float, "B", items);
        return g.Build([], "NeuMF ranking graph derived by emo-serve: scores of every item for each user");
    }
}
