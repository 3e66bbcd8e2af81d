using System.Globalization;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Models;
using Keys = EventMlOps.Models.ModelMetadata;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Loading;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EventMlOps.Serving.Recommending;

/// <summary>An item recommended to a user, by its original id; no score for the popularity fallback.</summary>
public sealed record RecommendedItem(long ItemId, float? Score);

/// <summary>A NeuMF version: the precomputed ranking graph (<see cref="RankingGraph"/>) run once per batch of users,
/// top-k per user leaving out the items the user already has, and the popular items for users the model never saw.</summary>
public sealed class RecommenderModel : ServedModel
{
    private readonly InferenceSession _ranking;
    private readonly SeenItems _seen;
    private readonly int[] _popular;
    private readonly Batcher<(int User, int K), RecommendedItem[]> _batcher;

    private RecommenderModel(ServedVersion version, InferenceSession session, InferenceSession ranking, SeenItems seen, int[] popular, BatchPolicy batching)
        : base(version.ModelName, version.Version, version.ArtifactSha256, session)
    {
        (_ranking, _seen, _popular) = (ranking, seen, popular);
        _batcher = batching.For<(int User, int K), RecommendedItem[]>(Name, Version, Rank);
    }

    public int ItemCount => _seen.ItemIds.Length;
    public override int QueueDepth => _batcher.Depth;

    public static RecommenderModel Load(ServedVersion version, InferenceSession session, ModelProto proto, IReadOnlyDictionary<string, string> metadata,
        OrtSessions sessions, BatchPolicy batching)
    {
        string Required(string key) => metadata.GetValueOrDefault(key) ?? throw new InvalidDataException($"the recommender has no '{key}' metadata");
        var seen = SeenItems.Parse(Convert.FromBase64String(Required(Keys.SeenItems)));
        var popular = Required(Keys.PopularItems).Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(i => int.Parse(i, CultureInfo.InvariantCulture)).ToArray();
        var ranking = sessions.Create(RankingGraph.Build(proto).ToByteArray());
        if (ranking.OutputMetadata["scores"].Dimensions[1] != seen.ItemIds.Length)
        {
            ranking.Dispose();
            throw new InvalidDataException($"the recommender scores {ranking.OutputMetadata["scores"].Dimensions[1]} items but its id table has {seen.ItemIds.Length}");
        }
        return new RecommenderModel(version, session, ranking, seen, popular, batching);
    }

    /// <summary>The dense index of a user the model knows; -1 for a user it never saw.</summary>
    public int UserIndex(long userId) => _seen.UserIndex(userId);

    public Task<RecommendedItem[]> RecommendAsync(int user, int k) => _batcher.Submit((user, k), 1);

    public RecommendedItem[] Popular(int k) => _popular.Take(k).Select(i => new RecommendedItem(_seen.ItemIds[i], null)).ToArray();

    public override void Warm() => Rank([(0, 1)], 1);

    private RecommendedItem[][] Rank(IReadOnlyList<(int User, int K)> batch, int rows)
    {
        var users = batch.Select(r => (long)r.User).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(users, [users.Length]);
        using var outputs = _ranking.Run(RunOptions, ["user"], [input], ["scores"]);
        var scores = outputs[0].GetTensorDataAsSpan<float>();
        var results = new RecommendedItem[batch.Count][];
        for (var b = 0; b < batch.Count; b++)
        {
            var (user, k) = batch[b];
            results[b] = TopK.Select(scores.Slice(b * ItemCount, ItemCount), _seen.Of(user), k)
                .Select(t => new RecommendedItem(_seen.ItemIds[t.Item], t.Score)).ToArray();
        }
        return results;
    }

    protected override async ValueTask UnloadAsync()
    {
        await _batcher.DisposeAsync();
        _ranking.Dispose();
        await base.UnloadAsync();
    }
}
