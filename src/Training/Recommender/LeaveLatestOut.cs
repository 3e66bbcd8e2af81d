namespace EventMlOps.Training.Recommender;

/// <summary>The NCF evaluation split: each user's latest interaction (users with at least two) is held out and
/// ranked among itself and <c>negatives</c> items the user never interacted with (sampled uniformly, seeded);
/// everything else is training data. Users with one interaction, or with fewer than <c>negatives</c> items they never
/// interacted with, keep all their interactions for training and are not evaluated. <see cref="Candidates"/> holds one row per test user, the held-out item first.</summary>
public sealed class LeaveLatestOut
{
    public required int[] TrainUsers { get; init; }
    public required int[] TrainItems { get; init; }
    public required int[] TestUsers { get; init; }

    /// <summary>Row-major [TestUsers.Length, CandidatesPerUser]; column 0 is the held-out item.</summary>
    public required int[] Candidates { get; init; }

    public required int CandidatesPerUser { get; init; }
    public required int UserCount { get; init; }
    public required int ItemCount { get; init; }

    /// <summary>Training items per user as a bitset: <see cref="IsTrainItem"/>.</summary>
    public required ulong[] TrainSeen { get; init; }

    public int WordsPerUser => (ItemCount + 63) / 64;

    public bool IsTrainItem(int user, int item) => (TrainSeen[user * WordsPerUser + (item >> 6)] & (1UL << (item & 63))) != 0;

    public static LeaveLatestOut Split(Interactions data, int negatives, Random rng)
    {
        var words = (data.ItemCount + 63) / 64;
        // Interactions are ordered by user then time: a user's latest interaction is the last of its run. Users with a
        // single interaction, or too few unknown items left to sample the negatives from, are not evaluated.
        var heldOut = new bool[data.Count];
        var testUsers = new List<int>();
        var testItems = new List<int>();
        for (int start = 0, end; start < data.Count; start = end)
        {
            for (end = start + 1; end < data.Count && data.Users[end] == data.Users[start]; end++) { }
            if (end - start < 2 || data.ItemCount - (end - start) < negatives) continue;
            heldOut[end - 1] = true;
            testUsers.Add(data.Users[end - 1]);
            testItems.Add(data.Items[end - 1]);
        }
        var all = new ulong[data.UserCount * words];
        var train = new ulong[data.UserCount * words];
        var trainCount = data.Count - testUsers.Count;
        var trainUsers = new int[trainCount];
        var trainItems = new int[trainCount];
        for (int i = 0, t = 0; i < data.Count; i++)
        {
            var bit = 1UL << (data.Items[i] & 63);
            var word = data.Users[i] * words + (data.Items[i] >> 6);
            all[word] |= bit;
            if (heldOut[i]) continue;
            train[word] |= bit;
            (trainUsers[t], trainItems[t]) = (data.Users[i], data.Items[i]);
            t++;
        }

        var perUser = 1 + negatives;
        var candidates = new int[testUsers.Count * perUser];
        for (var r = 0; r < testUsers.Count; r++)
        {
            var user = testUsers[r];
            candidates[r * perUser] = testItems[r];
            var chosen = new HashSet<int>();
            while (chosen.Count < negatives)
            {
                var item = rng.Next(data.ItemCount);
                if ((all[user * words + (item >> 6)] & (1UL << (item & 63))) == 0 && chosen.Add(item))
                    candidates[r * perUser + chosen.Count] = item;
            }
        }
        return new LeaveLatestOut
        {
            TrainUsers = trainUsers,
            TrainItems = trainItems,
            TestUsers = testUsers.ToArray(),
            Candidates = candidates,
            CandidatesPerUser = perUser,
            UserCount = data.UserCount,
            ItemCount = data.ItemCount,
            TrainSeen = train,
        };
    }

    /// <summary>Training interactions per item: the popularity baseline's scores.</summary>
    public float[] TrainPopularity()
    {
        var counts = new float[ItemCount];
        foreach (var i in TrainItems) counts[i]++;
        return counts;
    }
}
