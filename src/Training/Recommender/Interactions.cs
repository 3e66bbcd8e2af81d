namespace EventMlOps.Training.Recommender;

/// <summary>Implicit feedback (who interacted with which item, when), with users and items as dense indices
/// <c>0..count-1</c>; <see cref="UserIds"/> / <see cref="ItemIds"/> map an index back to the id in the data.
/// Interactions are ordered by user, then time; a (user, item) pair occurs once (its latest time).</summary>
public sealed class Interactions
{
    public required int[] Users { get; init; }
    public required int[] Items { get; init; }
    public required long[] Timestamps { get; init; }
    public required long[] UserIds { get; init; }
    public required long[] ItemIds { get; init; }

    public int Count => Users.Length;
    public int UserCount => UserIds.Length;
    public int ItemCount => ItemIds.Length;

    /// <summary>Densifies raw ids (index order = ascending id) and keeps the latest time of a repeated pair.</summary>
    public static Interactions FromRaw(long[] users, long[] items, long[] timestamps)
    {
        var n = users.Length;
        var order = new int[n];
        for (var i = 0; i < n; i++) order[i] = i;
        // by user, item, time, then position in the input: the last of equal pairs is the latest (ties: the later line)
        Array.Sort(order, (a, b) =>
        {
            var c = users[a].CompareTo(users[b]);
            if (c == 0) c = items[a].CompareTo(items[b]);
            if (c == 0) c = timestamps[a].CompareTo(timestamps[b]);
            return c != 0 ? c : a.CompareTo(b);
        });
        var kept = new List<int>(n);
        for (var k = 0; k < n; k++)
        {
            var i = order[k];
            if (k + 1 < n && users[order[k + 1]] == users[i] && items[order[k + 1]] == items[i]) continue;
            kept.Add(i);
        }
        var userIds = kept.Select(i => users[i]).Distinct().Order().ToArray();
        var itemIds = kept.Select(i => items[i]).Distinct().Order().ToArray();
        var userIndex = Index(userIds);
        var itemIndex = Index(itemIds);
        // by user, then time, then input position
        kept.Sort((a, b) =>
        {
            var c = users[a].CompareTo(users[b]);
            if (c == 0) c = timestamps[a].CompareTo(timestamps[b]);
            return c != 0 ? c : a.CompareTo(b);
        });
        return new Interactions
        {
            Users = kept.Select(i => userIndex[users[i]]).ToArray(),
            Items = kept.Select(i => itemIndex[items[i]]).ToArray(),
            Timestamps = kept.Select(i => timestamps[i]).ToArray(),
            UserIds = userIds,
            ItemIds = itemIds,
        };
    }

    private static Dictionary<long, int> Index(long[] ids)
    {
        var index = new Dictionary<long, int>(ids.Length);
        for (var i = 0; i < ids.Length; i++) index[ids[i]] = i;
        return index;
    }

    /// <summary>Interactions per item (popularity).</summary>
    public long[] ItemCounts()
    {
        var counts = new long[ItemCount];
        foreach (var i in Items) counts[i]++;
        return counts;
    }

    /// <summary>True when ids are <c>offset..offset+count-1</c>, so an index is <c>id - offset</c>.</summary>
    public static bool IsContiguous(long[] ids) => ids.Length > 0 && ids[^1] - ids[0] == ids.Length - 1;
}
