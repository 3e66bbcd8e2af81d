using System.Globalization;
using System.Text;
using EventMlOps.Training.Running;
using Onnx;
using static EventMlOps.Training.Running.OnnxGraph;
using DataType = Onnx.TensorProto.Types.DataType;

namespace EventMlOps.Training.Recommender;

/// <summary>The recommender's artifacts: the NeuMF ONNX graph (inputs <c>user</c>, <c>item</c>: int64 [N] dense
/// indices; output <c>score</c>: float [N], the interaction probability) and <c>seen.bin</c>, what serving needs to
/// map ids to indices and leave out items a user already has (layout in the README beside this project).</summary>
public static class RecommenderExport
{
    public const string SeenFile = "seen.bin";
    public static readonly byte[] SeenMagic = "EMOSEEN1"u8.ToArray();

    public static ModelProto Build(NeuMFWeights w, int users, int items, int factors, int[] layers, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var g = new OnnxGraph("neumf");
        g.Input("user", DataType.Int64, "N");
        g.Input("item", DataType.Int64, "N");
        var gmfUser = g.Node("Gather", [g.Initializer("gmf_user.weight", w.GmfUser, users, factors), "user"], null, Int("axis", 0));
        var gmfItem = g.Node("Gather", [g.Initializer("gmf_item.weight", w.GmfItem, items, factors), "item"], null, Int("axis", 0));
        var gmf = g.Node("Mul", [gmfUser, gmfItem]);
        var half = layers[0] / 2;
        var mlpUser = g.Node("Gather", [g.Initializer("mlp_user.weight", w.MlpUser, users, half), "user"], null, Int("axis", 0));
        var mlpItem = g.Node("Gather", [g.Initializer("mlp_item.weight", w.MlpItem, items, half), "item"], null, Int("axis", 0));
        var h = g.Node("Concat", [mlpUser, mlpItem], null, Int("axis", 1));
        for (var l = 1; l < layers.Length; l++)
            h = g.Node("Relu", [g.Linear(h, $"mlp.{l - 1}", w.Mlp[l - 1].Weight, w.Mlp[l - 1].Bias, layers[l], layers[l - 1])]);
        var joined = g.Node("Concat", [gmf, h], null, Int("axis", 1));
        var logit = g.Linear(joined, "predict", w.PredictWeight, w.PredictBias, 1, factors + layers[^1]);
        var probability = g.Node("Sigmoid", [logit]);
        g.Node("Reshape", [probability, g.Initializer("score_shape", [-1L], 1)], "score");
        g.Output("score", DataType.Float, "N");
        return g.Build(metadata, "NeuMF recommender (GMF + MLP) trained by emo-train: score(user, item) = P(interaction)");
    }

    /// <summary>seen.bin, little-endian: "EMOSEEN1", int32 users, int32 items, int64 user ids[users], int64 item
    /// ids[items], int64 offsets[users + 1], int32 item indices[offsets[users]] (each user's items, ascending).</summary>
    public static void WriteSeen(string path, Interactions data)
    {
        var perUser = new List<int>[data.UserCount];
        for (var u = 0; u < perUser.Length; u++) perUser[u] = [];
        for (var i = 0; i < data.Count; i++) perUser[data.Users[i]].Add(data.Items[i]);
        using var writer = new BinaryWriter(File.Create(path), Encoding.UTF8, leaveOpen: false);
        writer.Write(SeenMagic);
        writer.Write(data.UserCount);
        writer.Write(data.ItemCount);
        foreach (var id in data.UserIds) writer.Write(id);
        foreach (var id in data.ItemIds) writer.Write(id);
        long offset = 0;
        writer.Write(offset);
        foreach (var items in perUser) writer.Write(offset += items.Count);
        foreach (var items in perUser)
        {
            items.Sort();
            foreach (var item in items) writer.Write(item);
        }
    }

    /// <summary>Reads seen.bin back: ids by index and each user's item indices.</summary>
    public static (long[] UserIds, long[] ItemIds, int[][] Seen) ReadSeen(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        if (!reader.ReadBytes(SeenMagic.Length).AsSpan().SequenceEqual(SeenMagic)) throw new InvalidDataException($"{path} is not a seen.bin file");
        var (users, items) = (reader.ReadInt32(), reader.ReadInt32());
        var userIds = Enumerable.Range(0, users).Select(_ => reader.ReadInt64()).ToArray();
        var itemIds = Enumerable.Range(0, items).Select(_ => reader.ReadInt64()).ToArray();
        var offsets = Enumerable.Range(0, users + 1).Select(_ => reader.ReadInt64()).ToArray();
        var seen = new int[users][];
        for (var u = 0; u < users; u++) seen[u] = Enumerable.Range(0, (int)(offsets[u + 1] - offsets[u])).Select(_ => reader.ReadInt32()).ToArray();
        return (userIds, itemIds, seen);
    }

    /// <summary>metadata_props: everything serving needs besides the graph and seen.bin.</summary>
    public static List<KeyValuePair<string, string>> Metadata(Interactions data, int factors, int[] layers, IReadOnlyList<int> popular, Metrics evaluation)
    {
        static string Ids(long[] ids) => Interactions.IsContiguous(ids) ? "offset" : "table";
        var inv = CultureInfo.InvariantCulture;
        return
        [
            new("model_kind", "recommender"),
            new("architecture", $"neumf factors={factors} layers={string.Join(",", layers)}"),
            new("feature_schema", JsonOut.Write(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("inputs");
                Field(w, "user", "int64", "dense user index 0..user_count-1 (see user_id_mapping)");
                Field(w, "item", "int64", "dense item index 0..item_count-1 (see item_id_mapping)");
                w.WriteEndArray();
                w.WriteStartArray("outputs");
                Field(w, "score", "float", "probability that the user interacts with the item");
                w.WriteEndArray();
                w.WriteEndObject();
            })),
            new("user_count", data.UserCount.ToString(inv)),
            new("item_count", data.ItemCount.ToString(inv)),
            // "offset": index = id - *_id_offset; "table": the ids by index are in seen.bin (always written)
            new("user_id_mapping", Ids(data.UserIds)),
            new("user_id_offset", data.UserIds[0].ToString(inv)),
            new("item_id_mapping", Ids(data.ItemIds)),
            new("item_id_offset", data.ItemIds[0].ToString(inv)),
            new("seen_items_file", SeenFile),
            // most popular item indices first (interactions in the whole data set): the fallback for unknown users
            new("popular_items", string.Join(",", popular.Select(i => i.ToString(inv)))),
            new("evaluation", JsonOut.Write(w => JsonOut.WriteMetrics(w, evaluation))),
        ];
    }

    private static void Field(System.Text.Json.Utf8JsonWriter w, string name, string type, string meaning)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("type", type);
        w.WriteStartArray("shape");
        w.WriteStringValue("N");
        w.WriteEndArray();
        w.WriteString("meaning", meaning);
        w.WriteEndObject();
    }
}
