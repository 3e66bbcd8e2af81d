using System.Buffers;
using System.Globalization;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Models;
using Keys = EventMlOps.Models.ModelMetadata;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Loading;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EventMlOps.Serving.Recommending;

/// <summary>An item recommended to a user, by its original id; no score for the popularity fallback.</summary>
public sealed record RecommendedItem(long ItemId, float? Score);

/// <summary>A NeuMF version: every item scored for each user by <see cref="NeuMFRanker"/> (the users of a batch spread
/// over the cores), top-k per user leaving out the items the user already has, and the popular items for users the model
/// never saw. The artifact's graph still answers <c>/v2</c> and is the reference the kernel must match at load.</summary>
public sealed class RecommenderModel : ServedModel
{
    /// <summary>Users whose every item is compared with the artifact's graph at load.</summary>
    public const int VerifiedUsers = 16;

    /// <summary>The largest difference in probability from the artifact's graph a version may show.</summary>
    public const double Tolerance = 1e-5;

    private readonly NeuMFRanker _ranker;
    private readonly SeenItems _seen;
    private readonly int[] _popular, _interactions;
    private readonly Batcher<(int User, int K), RecommendedItem[]> _batcher;

    private RecommenderModel(ServedVersion version, InferenceSession session, InjectedFaults faults, NeuMFRanker ranker, SeenItems seen, int[] popular, BatchPolicy batching)
        : base(version.ModelName, version.Version, version.ArtifactSha256, session, faults)
    {
        (_ranker, _seen, _popular, _interactions) = (ranker, seen, popular, seen.InteractionsPerItem());
        _batcher = batching.For<(int User, int K), RecommendedItem[]>(Name, Version, Rank);
    }

    public int ItemCount => _seen.ItemIds.Length;
    public override int QueueDepth => _batcher.Depth;

    /// <summary>Builds the ranker from the artifact's weights and refuses the version unless it reproduces the
    /// artifact's own <c>score</c> (run in ONNX Runtime) within <see cref="Tolerance"/> for <see cref="VerifiedUsers"/>
    /// users, every item each (<see cref="NeuMFRanker.MaxDifference"/>).</summary>
    public static RecommenderModel Load(ServedVersion version, InferenceSession session, ModelProto proto, IReadOnlyDictionary<string, string> metadata,
        BatchPolicy batching)
    {
        string Required(string key) => metadata.GetValueOrDefault(key) ?? throw new InvalidDataException($"the recommender has no '{key}' metadata");
        var seen = SeenItems.Parse(Convert.FromBase64String(Required(Keys.SeenItems)));
        var popular = Required(Keys.PopularItems).Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(i => int.Parse(i, CultureInfo.InvariantCulture)).ToArray();
        var ranker = NeuMFRanker.Build(proto);
        if (ranker.Items != seen.ItemIds.Length || ranker.Users != seen.UserIds.Length)
            throw new InvalidDataException($"the recommender scores {ranker.Users} users × {ranker.Items} items but its id tables have {seen.UserIds.Length} × {seen.ItemIds.Length}");
        var difference = ranker.MaxDifference(session, VerifiedUsers);
        if (!(difference <= Tolerance))
            throw new InvalidDataException($"the ranking kernel differs from the recommender graph by {difference:G3} (at most {Tolerance:G1} allowed): the graph is not the NeuMF the kernel computes");
        return new RecommenderModel(version, session, InjectedFaults.Read(metadata), ranker, seen, popular, batching);
    }

    /// <summary>The dense index of a user the model knows; -1 for a user it never saw.</summary>
    public int UserIndex(long userId) => _seen.UserIndex(userId);

    /// <summary>The graph's <c>user</c> and <c>item</c> index its tables: ONNX Runtime would read a negative index from the
    /// end of a table (-1: silently the last user) and fail on one past it, so both are refused before it runs.</summary>
    public override string? Refuse(string input, ReadOnlySpan<long> values)
    {
        var (count, what) = input switch
        {
            "user" => (_ranker.Users, "users"),
            "item" => (_ranker.Items, "items"),
            _ => (int.MaxValue, "entries"),
        };
        foreach (var index in values)
            if ((ulong)index >= (ulong)count)
                return $"input '{input}' holds index {index}: the model has {count} {what} (0 to {count - 1})";
        return null;
    }

    /// <summary>The training interactions of user <paramref name="user"/> (a dense index; -1, a user never seen: none).</summary>
    public int Activity(int user) => user < 0 ? 0 : _seen.Of(user).Length;

    /// <summary>Each recommended item's training interactions (the items are this model's: their ids are in its table).</summary>
    public double[] Popularity(IReadOnlyList<RecommendedItem> items) => [.. items.Select(i => (double)_interactions[Array.BinarySearch(_seen.ItemIds, i.ItemId)])];

    public Task<RecommendedItem[]> RecommendAsync(int user, int k) => _batcher.Submit((user, k), 1);

    public RecommendedItem[] Popular(int k) => _popular.Take(k).Select(i => new RecommendedItem(_seen.ItemIds[i], null)).ToArray();

    public override void Warm() => Rank([(0, 1)], 1);

    private RecommendedItem[][] Rank(IReadOnlyList<(int User, int K)> batch, int rows)
    {
        var results = new RecommendedItem[batch.Count][];
        if (batch.Count == 1) results[0] = Rank(batch[0].User, batch[0].K);
        else Parallel.For(0, batch.Count, b => results[b] = Rank(batch[b].User, batch[b].K));
        return results;
    }

    /// <summary>Top-k by logit (the sigmoid keeps the order), probabilities for the k kept only.</summary>
    private RecommendedItem[] Rank(int user, int k)
    {
        var logits = ArrayPool<float>.Shared.Rent(_ranker.PaddedItems);
        try
        {
            _ranker.Logits(user, logits);
            return TopK.Select(logits.AsSpan(0, ItemCount), _seen.Of(user), k)
                .Select(t => new RecommendedItem(_seen.ItemIds[t.Item], NeuMFRanker.Probability(t.Score))).ToArray();
        }
        finally
        {
            ArrayPool<float>.Shared.Return(logits);
        }
    }

    protected override async ValueTask UnloadAsync()
    {
        await _batcher.DisposeAsync();
        await base.UnloadAsync();
    }
}
