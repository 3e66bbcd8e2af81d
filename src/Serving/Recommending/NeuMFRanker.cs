using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EventMlOps.Serving.Recommending;

/// <summary>Scores every item for one user with the trainer's NeuMF weights: a fused SIMD kernel over an item side
/// precomputed at load, in place of an ONNX Runtime run (see <see cref="NeuMFRanker{TVector, TLanes}"/> for the layout
/// and src/Serving/README.md, "Speed", for why). The artifact's own graph stays the reference: <see cref="MaxDifference"/>
/// compares the two, and a version whose kernel does not reproduce its graph is refused.</summary>
/// <remarks>NeuMF's logit is <c>p·[gmf_user⊙gmf_item ; mlp(user, item)] + b</c>, with
/// <c>mlp = relu(W_L·…relu(W_2·relu(W_1u·mlp_user + W_1i·mlp_item + b_1) + b_2)…)</c>. What depends only on items is
/// computed once: <c>W_1i·mlp_item + b_1</c> and <c>gmf_item⊙p_gmf</c>; a user adds <c>W_1u·mlp_user</c> and its GMF
/// factors.
/// <para>Why not ONNX Runtime: with layers this small (64-32-16-8 by default) each ONNX operator is a pass over [pairs, h]
/// activations written to memory and read back; on the 2-core benchmark machine this kernel ranks ~2.5× as many users
/// per core as the best ONNX graph measured (feature-major Gemms, hᵀ [h, B·I]) and ~3–4× the row-major ranking graph it
/// replaced. ONNX Runtime still runs /score, /v2 infer and this verification.</para></remarks>
public abstract class NeuMFRanker
{
    protected NeuMFRanker(int users, int items, int padded) => (Users, Items, PaddedItems) = (users, items, padded);

    public int Users { get; }
    public int Items { get; }

    /// <summary>The length a logits row needs: the items rounded up to the kernel's tile (the tail is scratch).</summary>
    public int PaddedItems { get; }

    /// <summary>The kernel for this machine: 512-bit vectors where the runtime accelerates them, else <see cref="Vector{T}"/>.</summary>
    public static NeuMFRanker Build(ModelProto neumf) =>
        Vector512.IsHardwareAccelerated ? Build<Vector512<float>, Lanes512>(neumf) : Build<Vector<float>, LanesVector>(neumf);

    public static NeuMFRanker Build<TVector, TLanes>(ModelProto neumf) where TVector : struct where TLanes : struct, ILanes<TVector> =>
        new NeuMFRanker<TVector, TLanes>(NeuMFWeights.From(neumf));

    /// <summary>The logit of every item for <paramref name="user"/> into <c>logits[..Items]</c> (the probability is its
    /// sigmoid; the order is the same). <paramref name="logits"/> holds at least <see cref="PaddedItems"/>.</summary>
    public abstract void Logits(int user, Span<float> logits);

    /// <summary>The largest difference between this kernel's probabilities and the artifact's own <c>score</c> output
    /// for <paramref name="sampleUsers"/> users spread over the table (the first and the last included), each over every
    /// item — or, past <paramref name="maxPairs"/> pairs in all, over items spread the same way (the last included:
    /// it sits in the kernel's padded tail).</summary>
    public double MaxDifference(InferenceSession original, int sampleUsers, int maxPairs = 1 << 16)
    {
        static int[] Spread(int count, int of) =>
            [.. Enumerable.Range(0, count).Select(n => count == of ? n : (int)((long)n * (of - 1) / (count - 1)))];
        var users = Spread(Math.Min(Math.Max(sampleUsers, 2), Users), Users);
        var items = Spread(Math.Min(Math.Max(maxPairs / users.Length, 2), Items), Items);
        var pairUsers = users.SelectMany(u => Enumerable.Repeat((long)u, items.Length)).ToArray();
        var pairItems = users.SelectMany(_ => items.Select(i => (long)i)).ToArray();
        using var userTensor = OrtValue.CreateTensorValueFromMemory(pairUsers, [pairUsers.Length]);
        using var itemTensor = OrtValue.CreateTensorValueFromMemory(pairItems, [pairItems.Length]);
        using var options = new RunOptions();
        using var outputs = original.Run(options, ["user", "item"], [userTensor, itemTensor], ["score"]);
        var expected = outputs[0].GetTensorDataAsSpan<float>();
        var logits = new float[PaddedItems];
        var max = 0.0;
        for (var u = 0; u < users.Length; u++)
        {
            Logits(users[u], logits);
            for (var i = 0; i < items.Length; i++)
                max = Math.Max(max, Math.Abs(Probability(logits[items[i]]) - expected[u * items.Length + i])); // NaN stays NaN
        }
        return max;
    }

    public static float Probability(float logit) => 1f / (1f + MathF.Exp(-logit));
}

/// <summary>The kernel, compiled once per vector type. Items are ranked in tiles of two vectors (T = 2·lanes items):
/// for each tile the user's first-layer activations are formed, every later layer is a register-blocked product —
/// eight outputs × two vectors in sixteen accumulators, each weight broadcast once and multiplied into both vectors —
/// and the prediction adds the MLP and GMF halves. Everything a tile touches stays in L1; nothing is allocated on the
/// heap (but for models whose layers need more than 16 KiB of scratch).</summary>
/// <remarks>Layouts, chosen so the inner loops read memory in order: the item side <c>[tile][h1][T]</c> and
/// <c>[tile][factors][T]</c>; a layer's weights <c>[group of 8 outputs][input][8]</c>, outputs padded to a multiple of
/// 8 with zero weights and biases (a padded output is relu(0) = 0 and meets zero weights downstream).</remarks>
public sealed class NeuMFRanker<TVector, TLanes> : NeuMFRanker where TVector : struct where TLanes : struct, ILanes<TVector>
{
    private const int Group = 8;
    private const int StackScratch = 4096; // floats; larger models rent the two activation buffers

    private readonly float[] _itemH1, _gmfItem, _userW1, _mlpUser, _gmfUser, _predictMlp;
    private readonly Layer[] _layers;
    private readonly float _predictBias;
    private readonly int _tiles, _h1, _half, _factors, _width;

    private sealed record Layer(float[] Weights, float[] Bias, int Outputs, int Inputs);

    private static int Lanes => TLanes.Count;
    private static int Tile => 2 * TLanes.Count;

    internal NeuMFRanker(NeuMFWeights w) : base(w.Users, w.Items, (w.Items + Tile - 1) / Tile * Tile)
    {
        (_h1, _half, _factors) = (w.W1.Rows, w.MlpItem.Cols, w.GmfItem.Cols);
        _tiles = PaddedItems / Tile;
        _itemH1 = new float[_tiles * _h1 * Tile];
        for (var i = 0; i < Items; i++)
        for (var o = 0; o < _h1; o++)
        {
            var sum = w.B1.Data[o];
            for (var k = 0; k < _half; k++) sum += w.MlpItem[i, k] * w.W1[o, _half + k];
            _itemH1[(i / Tile * _h1 + o) * Tile + i % Tile] = sum;
        }
        _gmfItem = new float[_tiles * _factors * Tile];
        for (var i = 0; i < Items; i++)
        for (var k = 0; k < _factors; k++)
            _gmfItem[(i / Tile * _factors + k) * Tile + i % Tile] = w.GmfItem[i, k] * w.Predict.Data[k];
        _userW1 = new float[_h1 * _half];
        for (var o = 0; o < _h1; o++)
        for (var k = 0; k < _half; k++)
            _userW1[o * _half + k] = w.W1[o, k];
        (_mlpUser, _gmfUser, _predictBias) = (w.MlpUser.Data, w.GmfUser.Data, w.PredictBias.Data[0]);

        var layers = new List<Layer>();
        var inputs = _h1;
        foreach (var (weight, bias) in w.Later)
        {
            var outputs = (weight.Rows + Group - 1) / Group * Group;
            var packed = new float[outputs * inputs];
            for (var o = 0; o < weight.Rows; o++)
            for (var k = 0; k < weight.Cols; k++)
                packed[(o / Group * inputs + k) * Group + o % Group] = weight[o, k];
            var paddedBias = new float[outputs];
            bias.Data.CopyTo(paddedBias, 0);
            layers.Add(new(packed, paddedBias, outputs, inputs));
            inputs = outputs;
        }
        _layers = [.. layers];
        _predictMlp = new float[inputs];
        w.Predict.Data.AsSpan(_factors).CopyTo(_predictMlp);
        _width = Math.Max(_h1, layers.Count == 0 ? 0 : layers.Max(l => l.Outputs));
    }

    public override void Logits(int user, Span<float> logits)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)user, (uint)Users, nameof(user));
        ArgumentOutOfRangeException.ThrowIfLessThan(logits.Length, PaddedItems, nameof(logits));
        var scratchLength = Tile * _width;
        float[]? rented = null;
        Span<float> scratch = 2 * scratchLength <= StackScratch ? stackalloc float[2 * scratchLength] : (rented = ArrayPool<float>.Shared.Rent(2 * scratchLength));
        try
        {
            Span<float> userH1 = stackalloc float[_h1];
            var mlpUser = _mlpUser.AsSpan(user * _half, _half);
            for (var o = 0; o < _h1; o++)
            {
                var sum = 0f;
                var row = _userW1.AsSpan(o * _half, _half);
                for (var k = 0; k < row.Length; k++) sum += row[k] * mlpUser[k];
                userH1[o] = sum;
            }
            RankTiles(ref MemoryMarshal.GetReference(userH1), ref _gmfUser[user * _factors], ref MemoryMarshal.GetReference(scratch),
                ref scratch[scratchLength], ref MemoryMarshal.GetReference(logits));
        }
        finally
        {
            if (rented is not null) ArrayPool<float>.Shared.Return(rented);
        }
    }

    // Bounds are checked once in Logits; the loops below walk refs over arrays whose sizes the constructor fixed.
    // Fully optimised from the first call: a version's first requests do not wait for tiered compilation.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RankTiles(ref float userH1, ref float gmfUser, ref float a, ref float b, ref float output)
    {
        ref var itemH1 = ref MemoryMarshal.GetArrayDataReference(_itemH1);
        ref var gmfItem = ref MemoryMarshal.GetArrayDataReference(_gmfItem);
        ref var predict = ref MemoryMarshal.GetArrayDataReference(_predictMlp);
        var predictBias = TLanes.Splat(_predictBias);
        for (var tile = 0; tile < _tiles; tile++)
        {
            ref var x = ref a;
            for (var k = 0; k < _h1; k++)
            {
                var u = TLanes.Splat(Unsafe.Add(ref userH1, k));
                TLanes.Store(TLanes.AddRelu(u, TLanes.Load(ref itemH1)), ref x);
                TLanes.Store(TLanes.AddRelu(u, TLanes.Load(ref Unsafe.Add(ref itemH1, Lanes))), ref Unsafe.Add(ref x, Lanes));
                itemH1 = ref Unsafe.Add(ref itemH1, Tile);
                x = ref Unsafe.Add(ref x, Tile);
            }
            ref var current = ref a;
            ref var next = ref b;
            foreach (var layer in _layers)
            {
                Dense(ref current, ref next, layer);
                ref var done = ref current;
                current = ref next;
                next = ref done;
            }
            var (low, high) = (predictBias, predictBias);
            x = ref current;
            for (var k = 0; k < _predictMlp.Length; k++)
            {
                var p = TLanes.Splat(Unsafe.Add(ref predict, k));
                low = TLanes.MultiplyAdd(p, TLanes.Load(ref x), low);
                high = TLanes.MultiplyAdd(p, TLanes.Load(ref Unsafe.Add(ref x, Lanes)), high);
                x = ref Unsafe.Add(ref x, Tile);
            }
            for (var k = 0; k < _factors; k++)
            {
                var g = TLanes.Splat(Unsafe.Add(ref gmfUser, k));
                low = TLanes.MultiplyAdd(g, TLanes.Load(ref gmfItem), low);
                high = TLanes.MultiplyAdd(g, TLanes.Load(ref Unsafe.Add(ref gmfItem, Lanes)), high);
                gmfItem = ref Unsafe.Add(ref gmfItem, Tile);
            }
            TLanes.Store(low, ref output);
            TLanes.Store(high, ref Unsafe.Add(ref output, Lanes));
            output = ref Unsafe.Add(ref output, Tile);
        }
    }

    /// <summary><c>y = relu(W·x + b)</c> for one tile: x is [inputs][T], y is [outputs][T].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dense(ref float input, ref float y, Layer layer)
    {
        ref var w = ref MemoryMarshal.GetArrayDataReference(layer.Weights);
        ref var bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);
        for (var o = 0; o < layer.Outputs; o += Group)
        {
            // Accumulators: outputs o..o+7 (0..7) for the tile's low (l) and high (h) vector.
            var l0 = TLanes.Splat(Unsafe.Add(ref bias, o)); var h0 = l0;
            var l1 = TLanes.Splat(Unsafe.Add(ref bias, o + 1)); var h1 = l1;
            var l2 = TLanes.Splat(Unsafe.Add(ref bias, o + 2)); var h2 = l2;
            var l3 = TLanes.Splat(Unsafe.Add(ref bias, o + 3)); var h3 = l3;
            var l4 = TLanes.Splat(Unsafe.Add(ref bias, o + 4)); var h4 = l4;
            var l5 = TLanes.Splat(Unsafe.Add(ref bias, o + 5)); var h5 = l5;
            var l6 = TLanes.Splat(Unsafe.Add(ref bias, o + 6)); var h6 = l6;
            var l7 = TLanes.Splat(Unsafe.Add(ref bias, o + 7)); var h7 = l7;
            ref var x = ref input;
            for (var k = 0; k < layer.Inputs; k++)
            {
                var xl = TLanes.Load(ref x);
                var xh = TLanes.Load(ref Unsafe.Add(ref x, Lanes));
                var v = TLanes.Splat(w); l0 = TLanes.MultiplyAdd(v, xl, l0); h0 = TLanes.MultiplyAdd(v, xh, h0);
                v = TLanes.Splat(Unsafe.Add(ref w, 1)); l1 = TLanes.MultiplyAdd(v, xl, l1); h1 = TLanes.MultiplyAdd(v, xh, h1);
                v = TLanes.Splat(Unsafe.Add(ref w, 2)); l2 = TLanes.MultiplyAdd(v, xl, l2); h2 = TLanes.MultiplyAdd(v, xh, h2);
                v = TLanes.Splat(Unsafe.Add(ref w, 3)); l3 = TLanes.MultiplyAdd(v, xl, l3); h3 = TLanes.MultiplyAdd(v, xh, h3);
                v = TLanes.Splat(Unsafe.Add(ref w, 4)); l4 = TLanes.MultiplyAdd(v, xl, l4); h4 = TLanes.MultiplyAdd(v, xh, h4);
                v = TLanes.Splat(Unsafe.Add(ref w, 5)); l5 = TLanes.MultiplyAdd(v, xl, l5); h5 = TLanes.MultiplyAdd(v, xh, h5);
                v = TLanes.Splat(Unsafe.Add(ref w, 6)); l6 = TLanes.MultiplyAdd(v, xl, l6); h6 = TLanes.MultiplyAdd(v, xh, h6);
                v = TLanes.Splat(Unsafe.Add(ref w, 7)); l7 = TLanes.MultiplyAdd(v, xl, l7); h7 = TLanes.MultiplyAdd(v, xh, h7);
                x = ref Unsafe.Add(ref x, Tile);
                w = ref Unsafe.Add(ref w, Group);
            }
            ref var row = ref Unsafe.Add(ref y, o * Tile);
            Store(TLanes.Relu(l0), TLanes.Relu(h0), ref row);
            Store(TLanes.Relu(l1), TLanes.Relu(h1), ref Unsafe.Add(ref row, Tile));
            Store(TLanes.Relu(l2), TLanes.Relu(h2), ref Unsafe.Add(ref row, 2 * Tile));
            Store(TLanes.Relu(l3), TLanes.Relu(h3), ref Unsafe.Add(ref row, 3 * Tile));
            Store(TLanes.Relu(l4), TLanes.Relu(h4), ref Unsafe.Add(ref row, 4 * Tile));
            Store(TLanes.Relu(l5), TLanes.Relu(h5), ref Unsafe.Add(ref row, 5 * Tile));
            Store(TLanes.Relu(l6), TLanes.Relu(h6), ref Unsafe.Add(ref row, 6 * Tile));
            Store(TLanes.Relu(l7), TLanes.Relu(h7), ref Unsafe.Add(ref row, 7 * Tile));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(TVector low, TVector high, ref float at)
    {
        TLanes.Store(low, ref at);
        TLanes.Store(high, ref Unsafe.Add(ref at, Lanes));
    }
}

/// <summary>The trainer's NeuMF initializers (TorchSharp Linear weights are [out, in]), checked for NeuMF's shapes.</summary>
internal sealed record NeuMFWeights(
    NeuMFWeights.Matrix GmfUser, NeuMFWeights.Matrix GmfItem, NeuMFWeights.Matrix MlpUser, NeuMFWeights.Matrix MlpItem,
    NeuMFWeights.Matrix W1, NeuMFWeights.Matrix B1, IReadOnlyList<(NeuMFWeights.Matrix Weight, NeuMFWeights.Matrix Bias)> Later,
    NeuMFWeights.Matrix Predict, NeuMFWeights.Matrix PredictBias)
{
    public sealed record Matrix(float[] Data, int Rows, int Cols)
    {
        public float this[int r, int c] => Data[r * Cols + c];
    }

    public int Users => GmfUser.Rows;
    public int Items => GmfItem.Rows;

    public static NeuMFWeights From(ModelProto neumf)
    {
        var initializers = neumf.Graph.Initializer.ToDictionary(t => t.Name);
        Matrix Get(string name)
        {
            if (!initializers.TryGetValue(name, out var t)) throw new InvalidDataException($"the recommender graph has no initializer '{name}'");
            var data = t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : t.FloatData.ToArray();
            return new Matrix(data, t.Dims.Count > 1 ? (int)t.Dims[0] : 1, (int)t.Dims[^1]);
        }

        var layers = new List<(Matrix Weight, Matrix Bias)>();
        for (var l = 0; initializers.ContainsKey($"mlp.{l}.weight"); l++) layers.Add((Get($"mlp.{l}.weight"), Get($"mlp.{l}.bias")));
        if (layers.Count == 0) throw new InvalidDataException("the recommender graph has no MLP layers (mlp.0.weight)");
        var w = new NeuMFWeights(Get("gmf_user.weight"), Get("gmf_item.weight"), Get("mlp_user.weight"), Get("mlp_item.weight"),
            layers[0].Weight, layers[0].Bias, layers.Skip(1).ToList(), Get("predict.weight"), Get("predict.bias"));
        var last = layers[^1].Weight.Rows;
        var fits = w.MlpUser.Rows == w.Users && w.MlpItem.Rows == w.Items && w.MlpUser.Cols == w.MlpItem.Cols && w.GmfUser.Cols == w.GmfItem.Cols
            && w.W1.Cols == 2 * w.MlpItem.Cols && w.Predict.Rows == 1 && w.Predict.Cols == w.GmfItem.Cols + last && w.PredictBias.Data.Length == 1
            && layers.All(l => l.Bias.Data.Length == l.Weight.Rows && l.Weight.Data.Length == l.Weight.Rows * l.Weight.Cols)
            && layers.Zip(layers.Skip(1)).All(p => p.Second.Weight.Cols == p.First.Weight.Rows);
        if (!fits) throw new InvalidDataException("the recommender graph's weights do not have NeuMF's shapes");
        return w;
    }
}
