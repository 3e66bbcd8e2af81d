namespace EventMlOps.Training.Anomaly;

/// <summary>Counts of a thresholded detector against labels, and the rates derived from them.</summary>
public sealed record Confusion(long TruePositives, long FalsePositives, long TrueNegatives, long FalseNegatives)
{
    public double Tpr => Ratio(TruePositives, TruePositives + FalseNegatives);
    public double Fpr => Ratio(FalsePositives, FalsePositives + TrueNegatives);
    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);
    public double Recall => Tpr;
    public double F1 => Precision + Recall > 0 ? 2 * Precision * Recall / (Precision + Recall) : 0;

    private static double Ratio(long a, long b) => b > 0 ? (double)a / b : 0;
}

/// <summary>Threshold choice and detection quality for anomaly scores (higher = more anomalous; a score above
/// the threshold is an alarm).</summary>
public static class Detection
{
    /// <summary>The threshold that flags at most <paramref name="targetFpr"/> of the given normal scores: the
    /// largest score that must stay unflagged once the top ⌊target · n⌋ are flagged.</summary>
    public static double Threshold(IReadOnlyList<double> normalScores, double targetFpr)
    {
        if (normalScores.Count == 0) throw new ArgumentException("no normal scores to choose a threshold on");
        var sorted = normalScores.Order().ToArray();
        var allowed = (int)Math.Floor(targetFpr * sorted.Length + 1e-9);
        return sorted[Math.Max(0, sorted.Length - allowed - 1)];
    }

    public static Confusion Classify(IReadOnlyList<double> scores, IReadOnlyList<bool> anomalous, double threshold)
    {
        long tp = 0, fp = 0, tn = 0, fn = 0;
        for (var i = 0; i < scores.Count; i++)
        {
            var alarm = scores[i] > threshold;
            if (anomalous[i]) { if (alarm) tp++; else fn++; }
            else if (alarm) fp++;
            else tn++;
        }
        return new Confusion(tp, fp, tn, fn);
    }

    /// <summary>Area under the ROC curve: the probability that a random anomalous window scores above a random
    /// normal one, ties counting half (Mann–Whitney U with average ranks).</summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> anomalous)
    {
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double positives = 0, rankSum = 0;
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            var averageRank = (i + j) / 2.0 + 1;
            for (var k = i; k <= j; k++)
                if (anomalous[order[k]]) { positives++; rankSum += averageRank; }
            i = j + 1;
        }
        var negatives = scores.Count - positives;
        return positives == 0 || negatives == 0 ? double.NaN : (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    /// <summary>The best TPR of any threshold on these scores whose FPR is at most <paramref name="maxFpr"/>
    /// (a point of the ROC curve; it uses the labels, so it describes the scores, not a deployable threshold).</summary>
    public static double TprAtFpr(IReadOnlyList<double> scores, IReadOnlyList<bool> anomalous, double maxFpr)
    {
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double positives = anomalous.Count(a => a), negatives = scores.Count - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        double tp = 0, fp = 0, best = 0;
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            for (; j < order.Length && scores[order[j]] == scores[order[i]]; j++)
                if (anomalous[order[j]]) tp++; else fp++;
            if (fp / negatives <= maxFpr) best = Math.Max(best, tp / positives);
            else break;
            i = j;
        }
        return best;
    }
}
