using System.Globalization;
using EventMlOps.Models;
using EventMlOps.Training.Running;
using Onnx;
using static EventMlOps.Models.OnnxGraph;
using Keys = EventMlOps.Models.ModelMetadata;
using DataType = Onnx.TensorProto.Types.DataType;

namespace EventMlOps.Training.Recommender;

/// <summary>The recommender's artifact: the NeuMF ONNX graph (inputs <c>user</c>, <c>item</c>: int64 [N] dense
/// indices; output <c>score</c>: float [N], the interaction probability) whose metadata carries all that serving needs
/// besides the graph — the id tables, each user's items (<see cref="SeenItems"/>) and the popular items.</summary>
public static class RecommenderExport
{
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

    /// <summary>metadata_props: everything serving needs besides the graph.</summary>
    public static List<KeyValuePair<string, string>> Metadata(Interactions data, int factors, int[] layers, IReadOnlyList<int> popular, Metrics evaluation)
    {
        static string Ids(long[] ids) => Interactions.IsContiguous(ids) ? "offset" : "table";
        var inv = CultureInfo.InvariantCulture;
        return
        [
            new(Keys.ModelKind, Keys.Recommender),
            new(Keys.Architecture, $"neumf factors={factors} layers={string.Join(",", layers)}"),
            new(Keys.FeatureSchema, JsonOut.Write(w =>
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
            new(Keys.UserCount, data.UserCount.ToString(inv)),
            new(Keys.ItemCount, data.ItemCount.ToString(inv)),
            // "offset": index = id - *_id_offset; "table": the ids by index are in the seen items (always written)
            new(Keys.UserIdMapping, Ids(data.UserIds)),
            new(Keys.UserIdOffset, data.UserIds[0].ToString(inv)),
            new(Keys.ItemIdMapping, Ids(data.ItemIds)),
            new(Keys.ItemIdOffset, data.ItemIds[0].ToString(inv)),
            new(Keys.SeenItems, Convert.ToBase64String(Seen(data).ToBytes())),
            // most popular item indices first (interactions in the whole data set): the fallback for unknown users
            new(Keys.PopularItems, string.Join(",", popular.Select(i => i.ToString(inv)))),
            // Quality only: a wall-clock time would make two identical trainings' model files differ.
            new(Keys.Evaluation, JsonOut.Write(w => JsonOut.WriteMetrics(w, evaluation.WithoutWallClock()))),
        ];
    }

    /// <summary>Every interaction, held-out ones included: serving never recommends what a user already has.</summary>
    public static SeenItems Seen(Interactions data) => SeenItems.From(data.UserIds, data.ItemIds, data.Users, data.Items);

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
