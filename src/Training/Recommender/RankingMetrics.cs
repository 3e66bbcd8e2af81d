namespace EventMlOps.Training.Recommender;

/// <summary>Hit ratio and NDCG at k for rows of candidate scores whose first entry is the held-out item.
/// The held-out item's rank (0-based) counts the candidates scored strictly higher plus half of those scored
/// equal (rounded down), so a constant scorer is not credited with perfect hits and ties cost what a random
/// tie-break costs on average. HR@k: rank &lt; k; NDCG@k: 1/log2(rank + 2) when rank &lt; k, else 0.</summary>
public static class RankingMetrics
{
    public static int Rank(ReadOnlySpan<float> row)
    {
        var target = row[0];
        int higher = 0, equal = 0;
        for (var j = 1; j < row.Length; j++)
        {
            if (row[j] > target) higher++;
            else if (row[j] == target) equal++;
        }
        return higher + equal / 2;
    }

    public static (double HitRatio, double Ndcg) Evaluate(ReadOnlySpan<float> scores, int candidatesPerUser, int k)
    {
        if (scores.Length == 0) return (0, 0);
        var rows = scores.Length / candidatesPerUser;
        double hits = 0, ndcg = 0;
        for (var r = 0; r < rows; r++)
        {
            var rank = Rank(scores.Slice(r * candidatesPerUser, candidatesPerUser));
            if (rank >= k) continue;
            hits++;
            ndcg += 1 / Math.Log2(rank + 2);
        }
        return (hits / rows, ndcg / rows);
    }
}
