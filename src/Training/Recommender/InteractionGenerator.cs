namespace EventMlOps.Training.Recommender;

/// <summary>Sizes of a generated MovieLens-shaped data set.</summary>
public sealed record InteractionGeneratorOptions(int Users = 6000, int Items = 4000, int Interactions = 1_000_000, int Seed = 42);

/// <summary>Makes MovieLens-shaped implicit feedback: items belong to one or two of a few genres, users like a few
/// genres (latent tastes), item popularity is Zipf-skewed, user activity is log-normal with at least 20
/// interactions (as MovieLens' users have). Each user's items are drawn without replacement with probability
/// ∝ popularity · exp(taste · item); timestamps spread each user's history over weeks to a year from 2000 on.
/// Ids are 1-based like MovieLens' (items nobody drew do not appear). The same options give the same data.</summary>
public static class InteractionGenerator
{
    private const int Genres = 18, Dimensions = 24, MinPerUser = 20;
    private const double TasteStrength = 6.0, PopularitySkew = 1.0;

    public static Interactions Generate(InteractionGeneratorOptions options)
    {
        var (users, items, total, seed) = (options.Users, options.Items, options.Interactions, options.Seed);
        if (users < 2 || items < 2) throw new ArgumentException("at least 2 users and 2 items");
        total = (int)Math.Min(total, (long)users * items * 6 / 10);
        var rng = new Random(seed);

        var genres = new float[Genres][];
        for (var g = 0; g < Genres; g++) genres[g] = Normalise(Gaussian(rng, Dimensions));
        var itemVectors = new float[items][];
        for (var i = 0; i < items; i++)
        {
            var v = Scaled(genres[rng.Next(Genres)], 1f);
            if (rng.NextDouble() < 0.4) Add(v, genres[rng.Next(Genres)], 0.5f);
            Add(v, Gaussian(rng, Dimensions), 0.5f / MathF.Sqrt(Dimensions));
            itemVectors[i] = Normalise(v);
        }
        // Zipf popularity over a random item order
        var logPopularity = new double[items];
        var rank = Enumerable.Range(0, items).ToArray();
        rng.Shuffle(rank);
        for (var i = 0; i < items; i++) logPopularity[i] = -PopularitySkew * Math.Log(rank[i] + 10.0);

        var userVectors = new float[users][];
        for (var u = 0; u < users; u++)
        {
            var v = new float[Dimensions];
            var liked = 1 + rng.Next(3);
            for (var k = 0; k < liked; k++) Add(v, genres[rng.Next(Genres)], (float)(0.5 + rng.NextDouble()));
            Add(v, Gaussian(rng, Dimensions), 0.6f / MathF.Sqrt(Dimensions));
            userVectors[u] = Normalise(v);
        }

        var counts = Activity(rng, users, items, total);
        var start = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        var firstTime = new long[users];
        var span = new long[users];
        for (var u = 0; u < users; u++)
        {
            firstTime[u] = start + (long)(rng.NextDouble() * 2 * 365 * 86400);
            span[u] = (long)((30 + rng.NextDouble() * 335) * 86400);
        }

        var offsets = new int[users + 1];
        for (var u = 0; u < users; u++) offsets[u + 1] = offsets[u] + counts[u];
        var rawUsers = new long[offsets[users]];
        var rawItems = new long[offsets[users]];
        var times = new long[offsets[users]];
        Parallel.For(0, users, u =>
        {
            var r = new Random(unchecked(seed * 1_000_003 + u * 7919 + 17));
            var keys = new double[items];
            var order = new int[items];
            var t = userVectors[u];
            for (var i = 0; i < items; i++)
            {
                var v = itemVectors[i];
                var dot = 0f;
                for (var d = 0; d < Dimensions; d++) dot += t[d] * v[d];
                var gumbel = -Math.Log(-Math.Log(r.NextDouble() * (1 - 2e-12) + 1e-12));
                keys[i] = -(logPopularity[i] + TasteStrength * dot + gumbel); // ascending sort = descending key
                order[i] = i;
            }
            Array.Sort(keys, order);
            for (var k = 0; k < counts[u]; k++)
            {
                var at = offsets[u] + k;
                rawUsers[at] = u + 1;
                rawItems[at] = order[k] + 1;
                times[at] = firstTime[u] + (long)(r.NextDouble() * span[u]);
            }
        });
        return Interactions.FromRaw(rawUsers, rawItems, times);
    }

    /// <summary>Interactions per user: log-normal, at least 20 (fewer only if the total asks for it), at most 60 %
    /// of the items, summing to the total.</summary>
    private static int[] Activity(Random rng, int users, int items, int total)
    {
        var min = Math.Max(1, Math.Min(MinPerUser, total / users));
        var max = Math.Max(min, items * 6 / 10);
        var weights = new double[users];
        for (var u = 0; u < users; u++) weights[u] = Math.Exp(0.9 * Gaussian(rng));
        var sum = weights.Sum();
        var counts = new int[users];
        var extra = total - min * users;
        for (var u = 0; u < users; u++) counts[u] = Math.Min(max, min + (int)(extra * weights[u] / sum));
        var missing = total - counts.Sum();
        for (var u = 0; missing > 0; u = (u + 1) % users)
            if (counts[u] < max) { counts[u]++; missing--; }
        return counts;
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static float[] Gaussian(Random rng, int n)
    {
        var v = new float[n];
        for (var i = 0; i < n; i++) v[i] = (float)Gaussian(rng);
        return v;
    }

    private static float[] Scaled(float[] v, float s) => v.Select(x => x * s).ToArray();

    private static void Add(float[] target, float[] v, float s)
    {
        for (var i = 0; i < target.Length; i++) target[i] += s * v[i];
    }

    private static float[] Normalise(float[] v)
    {
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return norm > 0 ? v.Select(x => x / norm).ToArray() : v;
    }
}
