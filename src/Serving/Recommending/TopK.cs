using System.Numerics;

namespace EventMlOps.Serving.Recommending;

/// <summary>The k best-scored items of one user's row, best first, leaving out the user's own items: a bounded
/// min-heap over the row (O(I log k)), not a sort of all I scores. Equal scores rank the lower index first.</summary>
/// <remarks>Once the heap is full, a vector of scores none of which beats its worst (the usual case) is passed over with
/// one comparison: items come in index order, so an equal score never displaces a kept item.</remarks>
public static class TopK
{
    public static (int Item, float Score)[] Select(ReadOnlySpan<float> scores, ReadOnlySpan<int> excluded, int k)
    {
        var heap = new (int Item, float Score)[Math.Min(k, scores.Length)];
        var count = 0;
        var skip = 0; // excluded is ascending: walk it beside the row
        var lanes = Vector<float>.Count;
        for (var start = 0; start < scores.Length; start += lanes)
        {
            var end = Math.Min(start + lanes, scores.Length);
            if (count == heap.Length && end - start == lanes && (count == 0 || Vector.LessThanOrEqualAll(new Vector<float>(scores[start..end]), new Vector<float>(heap[0].Score))))
                continue;
            for (var i = start; i < end; i++)
            {
                if (count == heap.Length && (count == 0 || !(scores[i] > heap[0].Score))) continue;
                while (skip < excluded.Length && excluded[skip] < i) skip++;
                if (skip < excluded.Length && excluded[skip] == i) continue;
                var candidate = (i, scores[i]);
                if (count < heap.Length)
                {
                    heap[count] = candidate;
                    SiftUp(heap, count++);
                }
                else
                {
                    heap[0] = candidate;
                    SiftDown(heap, count);
                }
            }
        }
        var best = heap[..count];
        Array.Sort(best, (a, b) => Better(a, b) ? -1 : Better(b, a) ? 1 : 0);
        return best;
    }

    private static bool Better((int Item, float Score) a, (int Item, float Score) b) =>
        a.Score > b.Score || (a.Score == b.Score && a.Item < b.Item);

    // The root is the worst of the kept items: the one a better candidate replaces.
    private static void SiftUp((int Item, float Score)[] heap, int at)
    {
        while (at > 0 && Better(heap[(at - 1) / 2], heap[at]))
        {
            (heap[at], heap[(at - 1) / 2]) = (heap[(at - 1) / 2], heap[at]);
            at = (at - 1) / 2;
        }
    }

    private static void SiftDown((int Item, float Score)[] heap, int count)
    {
        for (var at = 0; ;)
        {
            var worst = at;
            foreach (var child in (ReadOnlySpan<int>)[2 * at + 1, 2 * at + 2])
                if (child < count && Better(heap[worst], heap[child])) worst = child;
            if (worst == at) return;
            (heap[at], heap[worst]) = (heap[worst], heap[at]);
            at = worst;
        }
    }
}
