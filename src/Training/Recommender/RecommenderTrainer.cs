using System.Diagnostics;
using EventMlOps.Contracts.Training;
using EventMlOps.Models;
using EventMlOps.Training.Running;
using TorchSharp;
using static TorchSharp.torch;

namespace EventMlOps.Training.Recommender;

/// <summary><c>emo-train recommender</c>: NeuMF on implicit feedback with sampled negatives, BCE and Adam,
/// evaluated with the NCF protocol against a popularity baseline, exported to ONNX and verified.</summary>
public static class RecommenderTrainer
{
    public const string Name = "recommender";
    public const int TopK = 10, EvaluationNegatives = 99, PopularItemsKept = 200, PopularitySampleUsers = 500;
    public const int DefaultEpochs = 8, DefaultBatchSize = 8192;
    public const double DefaultLearningRate = 0.004;

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        .. TrainingSession.CommonOptions(Name, DefaultEpochs, DefaultLearningRate, DefaultBatchSize),
        OptionSpec.Hyperparameter(Name, "users", "generated users (default 6000)"),
        OptionSpec.Hyperparameter(Name, "items", "generated items (default 4000)"),
        OptionSpec.Hyperparameter(Name, "interactions", "generated interactions (default 1000000)"),
        OptionSpec.Hyperparameter(Name, "factors", "GMF embedding size (predictive factors; default 8)"),
        new("layers", "MLP layer sizes, the first = user + item embedding (default 64,32,16,8)"),
        OptionSpec.Hyperparameter(Name, "negatives", "sampled negatives per positive while training (default 4)"),
    ];

    public const string Synopsis = "(--data <u.data|ratings.dat|ratings.csv> | --generate) --out <dir> [options]";

    /// <summary>Defaults: the NCF paper's architecture (8 predictive factors, MLP 64-32-16-8, 4 negatives, Adam);
    /// batches of 8192 at lr 0.004 instead of the paper's 256 at 0.001, which reach the same quality here in a few
    /// epochs at a fraction of the per-step overhead on a CPU (8 epochs over 1M interactions take about a minute).</summary>
    public sealed record Settings(int Epochs, double LearningRate, int BatchSize, int Factors, int[] Layers, int Negatives,
        InteractionGeneratorOptions Generator);

    public static Settings Read(CommandLine options, int seed) => new(
        options.Int("epochs", DefaultEpochs),
        options.Double("lr", DefaultLearningRate),
        options.Int("batch-size", DefaultBatchSize),
        options.Int("factors", 8),
        options.IntList("layers", [64, 32, 16, 8]) is { } layers && layers[0] % 2 == 0
            ? layers
            : throw new UsageException("--layers: the first size is the user and item embeddings concatenated, so it must be even"),
        options.Int("negatives", 4),
        new InteractionGeneratorOptions(options.Int("users", 6000), options.Int("items", 4000), options.Int("interactions", 1_000_000), seed));

    public static void Run(TrainingSession session, Settings s)
    {
        var clock = Stopwatch.StartNew();
        var data = session.DataPath is { } path ? MovieLensLoader.Load(path) : InteractionGenerator.Generate(s.Generator);
        session.Info($"data: {data.UserCount} users, {data.ItemCount} items, {data.Count} interactions "
                     + $"({(session.DataPath is null ? "generated" : session.DataPath)}, {clock.Elapsed.TotalSeconds:0.0} s)");
        if (data.ItemCount <= EvaluationNegatives)
            throw new UsageException($"the data has {data.ItemCount} items; the NCF protocol ranks each held-out item among {EvaluationNegatives} others, so it needs more than {EvaluationNegatives}");

        var rng = new Random(session.Seed);
        var split = LeaveLatestOut.Split(data, EvaluationNegatives, rng);
        var candidateUsers = new long[split.Candidates.Length];
        var candidateItems = new long[split.Candidates.Length];
        for (var c = 0; c < split.Candidates.Length; c++)
            (candidateUsers[c], candidateItems[c]) = (split.TestUsers[c / split.CandidatesPerUser], split.Candidates[c]);
        var popularity = split.TrainPopularity();
        var baselineScores = split.Candidates.Select(i => popularity[i]).ToArray();
        var (baselineHr, baselineNdcg) = RankingMetrics.Evaluate(baselineScores, split.CandidatesPerUser, TopK);
        session.Info($"split: {split.TrainUsers.Length} training interactions, {split.TestUsers.Length} held-out users × {split.CandidatesPerUser} candidates; "
                     + $"popularity baseline hr@10 {baselineHr:0.0000} ndcg@10 {baselineNdcg:0.0000}");

        session.Begin(s.Epochs, s.LearningRate, s.BatchSize, new Parameters
        {
            ["factors"] = s.Factors,
            ["layers"] = s.Layers,
            ["negatives"] = s.Negatives,
            ["eval_negatives"] = EvaluationNegatives,
            ["top_k"] = TopK,
            ["optimizer"] = "adam",
            ["loss"] = "bce",
            ["users"] = data.UserCount,
            ["items"] = data.ItemCount,
            ["interactions"] = data.Count,
            ["generator_users"] = session.DataPath is null ? s.Generator.Users : 0,
            ["generator_items"] = session.DataPath is null ? s.Generator.Items : 0,
            ["generator_interactions"] = session.DataPath is null ? s.Generator.Interactions : 0,
        });

        var device = session.Device;
        using var model = new NeuMF(data.UserCount, data.ItemCount, s.Factors, s.Layers);
        model.to(device);
        using var optimizer = optim.Adam(model.parameters(), s.LearningRate);
        double loss = double.NaN, hr = 0, ndcg = 0;
        var trainClock = Stopwatch.StartNew();
        for (var epoch = 1; epoch <= s.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            var (users, items, labels) = SampleEpoch(split, s.Negatives, rng);
            loss = TrainEpoch(model, optimizer, users, items, labels, s.BatchSize, device);
            var scores = model.Score(candidateUsers, candidateItems, device);
            (hr, ndcg) = RankingMetrics.Evaluate(scores, split.CandidatesPerUser, TopK);
            session.Epoch(epoch, s.Epochs, epochClock.Elapsed.TotalSeconds, new Metrics { ["loss"] = loss, ["hr@10"] = hr, ["ndcg@10"] = ndcg });
        }
        var trainSeconds = trainClock.Elapsed.TotalSeconds;

        var counts = data.ItemCounts();
        var popular = Enumerable.Range(0, data.ItemCount).OrderByDescending(i => counts[i]).ThenBy(i => i).Take(PopularItemsKept).ToList();
        var metrics = new Metrics
        {
            ["hr@10"] = hr,
            ["ndcg@10"] = ndcg,
            ["baseline_hr@10"] = baselineHr,
            ["baseline_ndcg@10"] = baselineNdcg,
            ["hr_ratio"] = baselineHr > 0 ? hr / baselineHr : double.NaN,
            ["loss"] = loss,
            ["users"] = data.UserCount,
            ["items"] = data.ItemCount,
            ["interactions"] = data.Count,
            ["train_interactions"] = split.TrainUsers.Length,
            ["test_users"] = split.TestUsers.Length,
            ["epochs"] = s.Epochs,
            ["seconds_per_epoch"] = trainSeconds / s.Epochs,
            ["train_seconds"] = trainSeconds,
        };

        session.ExportVerified(
            () => RecommenderExport.Build(model.Weights(), data.UserCount, data.ItemCount, s.Factors, s.Layers,
                RecommenderExport.Metadata(data, s.Factors, s.Layers, popular, metrics)),
            path => Verify(model, path, data.UserCount, data.ItemCount, device, rng), metrics);

        WriteBaseline(session.PathOf(TrainerProtocol.FileOf(TrainerProtocol.Baseline)), data, split, model.Score(candidateUsers, candidateItems, device),
            RecommendedPopularity(model, data, split, device));
        metrics["total_seconds"] = session.Elapsed.TotalSeconds;
        session.Finish(metrics, s.Epochs);
    }

    /// <summary>One epoch's training examples: every training interaction (label 1) with <paramref name="negatives"/>
    /// items the user has not interacted with in the training data (label 0), shuffled.</summary>
    public static (long[] Users, long[] Items, float[] Labels) SampleEpoch(LeaveLatestOut split, int negatives, Random rng)
    {
        var n = split.TrainUsers.Length * (1 + negatives);
        var users = new long[n];
        var items = new long[n];
        var labels = new float[n];
        var k = 0;
        for (var p = 0; p < split.TrainUsers.Length; p++)
        {
            var user = split.TrainUsers[p];
            (users[k], items[k], labels[k]) = (user, split.TrainItems[p], 1f);
            k++;
            for (var j = 0; j < negatives; j++)
            {
                int item, tries = 0;
                do item = rng.Next(split.ItemCount);
                while (split.IsTrainItem(user, item) && ++tries < 10_000);
                if (tries >= 10_000) break; // the user has (almost) every item
                (users[k], items[k], labels[k]) = (user, item, 0f);
                k++;
            }
        }
        for (var i = k - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (users[i], users[j]) = (users[j], users[i]);
            (items[i], items[j]) = (items[j], items[i]);
            (labels[i], labels[j]) = (labels[j], labels[i]);
        }
        return k == n ? (users, items, labels) : (users[..k], items[..k], labels[..k]);
    }

    /// <summary>One pass of minibatch Adam on binary cross-entropy; returns the mean loss.</summary>
    public static double TrainEpoch(NeuMF model, optim.Optimizer optimizer, long[] users, long[] items, float[] labels, int batchSize, Device device)
    {
        model.train();
        using var allUsers = tensor(users, dtype: int64, device: device);
        using var allItems = tensor(items, dtype: int64, device: device);
        using var allLabels = tensor(labels, dtype: float32, device: device);
        var total = 0.0;
        for (long start = 0; start < users.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(batchSize, users.Length - start);
            var logits = model.forward(allUsers.narrow(0, start, n), allItems.narrow(0, start, n));
            var loss = nn.functional.binary_cross_entropy_with_logits(logits, allLabels.narrow(0, start, n));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            total += loss.item<float>() * n;
        }
        return total / Math.Max(1, users.Length);
    }

    /// <summary>Scores a sample of pairs (including the first and last indices) in TorchSharp and ONNX Runtime.</summary>
    public static OnnxCheck.Difference Verify(NeuMF model, string modelPath, int userCount, int itemCount, Device device, Random rng, int samples = 2048)
    {
        var users = new long[samples];
        var items = new long[samples];
        for (var i = 0; i < samples; i++) (users[i], items[i]) = (rng.Next(userCount), rng.Next(itemCount));
        (users[0], items[0], users[^1], items[^1]) = (0, 0, userCount - 1, itemCount - 1);
        var expected = model.Score(users, items, device);
        return OnnxCheck.Compare(modelPath,
            [new("user", users, [samples]), new("item", items, [samples])],
            new Dictionary<string, float[]> { ["score"] = expected });
    }

    /// <summary>The popularity of what the model recommends, as <c>/recommend</c> serves it: for up to
    /// <see cref="PopularitySampleUsers"/> training users (evenly spaced), the top <see cref="TopK"/> items by logit
    /// leaving out the user's seen items, each counted by its users in the seen items (all interactions of the data, the
    /// counts serving can take from the model's metadata).</summary>
    public static double[] RecommendedPopularity(NeuMF model, Interactions data, LeaveLatestOut split, Device device)
    {
        var trained = split.TrainUsers.Distinct().Order().ToArray();
        var sampled = Enumerable.Range(0, Math.Min(PopularitySampleUsers, trained.Length))
            .Select(k => trained[(int)((long)k * trained.Length / Math.Min(PopularitySampleUsers, trained.Length))]).ToArray();
        var users = sampled.SelectMany(u => Enumerable.Repeat((long)u, data.ItemCount)).ToArray();
        var items = sampled.SelectMany(_ => Enumerable.Range(0, data.ItemCount).Select(i => (long)i)).ToArray();
        return RecommendedPopularity(model.Score(users, items, device, logits: true), sampled, RecommenderExport.Seen(data), data.ItemCounts(), TopK);
    }

    /// <summary>The popularity of each user's top <paramref name="k"/> unseen items in <paramref name="logits"/> (one row
    /// of all items per user), best first, equal logits ranking the lower index first (as serving's top-k does).</summary>
    public static double[] RecommendedPopularity(float[] logits, int[] users, SeenItems seen, long[] popularity, int k)
    {
        var items = popularity.Length;
        var result = new List<double>(users.Length * k);
        var best = new List<int>(k + 1);
        for (var r = 0; r < users.Length; r++)
        {
            var row = logits.AsSpan(r * items, items);
            var own = seen.Of(users[r]);
            best.Clear();
            for (var i = 0; i < items; i++)
            {
                if (own.BinarySearch(i) >= 0 || (best.Count == k && !(row[i] > row[best[^1]]))) continue;
                var at = best.Count;
                while (at > 0 && row[i] > row[best[at - 1]]) at--;
                best.Insert(at, i);
                if (best.Count > k) best.RemoveAt(k);
            }
            foreach (var i in best) result.Add(popularity[i]);
        }
        return result.ToArray();
    }

    /// <summary>baseline.json: distributions of the training inputs (user and item activity and indices; whether the user
    /// is unknown — 0 for every user the model knows) and of the model's scores on the evaluation candidates and the
    /// popularity of what it recommends (<see cref="RecommendedPopularity(NeuMF, Interactions, LeaveLatestOut, Device)"/>),
    /// for drift monitoring.</summary>
    public static void WriteBaseline(string path, Interactions data, LeaveLatestOut split, float[] candidateScores, double[] recommendedPopularity)
    {
        var perUser = new double[data.UserCount];
        var perItem = new double[data.ItemCount];
        foreach (var u in split.TrainUsers) perUser[u]++;
        foreach (var i in split.TrainItems) perItem[i]++;
        JsonOut.WriteFile(path, w =>
        {
            w.WriteStartObject();
            w.WriteString("model_kind", Name);
            w.WriteNumber("user_count", data.UserCount);
            w.WriteNumber("item_count", data.ItemCount);
            w.WriteNumber("training_interactions", split.TrainUsers.Length);
            w.WriteStartObject("inputs");
            w.WritePropertyName("user");
            Distribution.Of(split.TrainUsers.Select(u => (double)u).ToArray()).Write(w);
            w.WritePropertyName("item");
            Distribution.Of(split.TrainItems.Select(i => (double)i).ToArray()).Write(w);
            w.WritePropertyName("user_activity");
            Distribution.Of(perUser).Write(w);
            w.WritePropertyName("item_popularity");
            Distribution.Of(perItem).Write(w);
            w.WritePropertyName("unknown_user");
            (Distribution.Of(new double[data.UserCount]) with { Categorical = true }).Write(w);
            w.WriteEndObject();
            w.WriteStartObject("outputs");
            w.WritePropertyName("score");
            Distribution.Of(candidateScores).Write(w);
            w.WritePropertyName("recommended_popularity");
            Distribution.Of(recommendedPopularity).Write(w);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }
}
