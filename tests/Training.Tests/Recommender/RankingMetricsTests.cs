using EventMlOps.Training.Recommender;

namespace EventMlOps.Training.Tests.Recommender;

public class RankingMetricsTests
{
    [Fact]
    public void Given_hand_made_rows_When_evaluated_Then_hit_ratio_and_ndcg_follow_the_rank_of_the_held_out_item()
    {
        // 3 users, 12 candidates each, the held-out item first:
        //   row 0: held-out scored highest               → rank 0: hit, ndcg 1
        //   row 1: 3 candidates above it                 → rank 3: hit, ndcg 1/log2(5)
        //   row 2: 10 candidates above it                → rank 10: miss
        float[] scores =
        [
            0.9f, 0.1f, 0.2f, 0.3f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f,
            0.5f, 0.6f, 0.7f, 0.8f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f,
            0.1f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.0f,
        ];

        var (hr, ndcg) = RankingMetrics.Evaluate(scores, 12, 10);

        hr.ShouldBe(2.0 / 3, 1e-12);
        ndcg.ShouldBe((1 + 1 / Math.Log2(5)) / 3, 1e-12);
    }

    [Fact]
    public void Given_ties_When_ranked_Then_half_of_the_equal_candidates_count_as_above()
    {
        RankingMetrics.Rank([0.5f, 0.5f, 0.5f, 0.5f, 0.5f]).ShouldBe(2);
        RankingMetrics.Rank([0.5f, 0.9f, 0.5f, 0.1f]).ShouldBe(1);
        RankingMetrics.Rank([0.5f, 0.1f, 0.2f]).ShouldBe(0);
    }

    [Fact]
    public void Given_a_constant_scorer_When_evaluated_on_100_candidates_Then_it_does_not_look_perfect()
    {
        var scores = Enumerable.Repeat(1f, 100).ToArray();

        RankingMetrics.Evaluate(scores, 100, 10).HitRatio.ShouldBe(0);
    }
}
