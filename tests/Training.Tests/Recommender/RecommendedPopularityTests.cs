using EventMlOps.Models;
using EventMlOps.Training.Recommender;

namespace EventMlOps.Training.Tests.Recommender;

/// <summary>The baseline's <c>recommended_popularity</c>: what serving's <c>/recommend</c> would show each user, counted
/// by item popularity.</summary>
public class RecommendedPopularityTests
{
    [Fact]
    public void Given_hand_made_logits_When_the_top_2_are_taken_Then_seen_items_are_left_out_ties_rank_the_lower_index_first_and_each_is_counted_by_popularity()
    {
        // 2 users × 5 items; user 0 has item 1, user 1 has items 0 and 4; popularity = users per item in the seen items
        var seen = SeenItems.From([100, 101], [10, 11, 12, 13, 14], [0, 1, 1], [1, 0, 4]);
        long[] popularity = [10, 20, 30, 40, 50];
        float[] logits =
        [
            0.9f, 5f, 0.9f, 0.1f, 0.3f, // user 0: item 1 (seen) left out; items 0 and 2 tie → 0 first → popularity 10, 30
            9f, 1f, 2f, 3f, 8f,         // user 1: items 0 and 4 (seen) left out → 3, then 2 → popularity 40, 30
        ];

        RecommenderTrainer.RecommendedPopularity(logits, [0, 1], seen, popularity, k: 2).ShouldBe([10, 30, 40, 30]);
    }
}
