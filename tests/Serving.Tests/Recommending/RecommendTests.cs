using System.Net;
using System.Text.Json;
using EventMlOps.Serving.Recommending;
using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Recommending;

public class RecommendTests(TrainedModels models)
{
    [Fact]
    public async Task Given_known_users_When_recommending_Then_scores_equal_the_original_model_and_the_top_k_leaves_out_their_items()
    {
        var host = await models.SharedAsync();
        var seen = DirectOrt.Seen(models.RecommenderPath);
        int[] users = [0, 7, 123, seen.UserIds.Length - 1];
        var direct = DirectOrt.Scores(models.RecommenderPath, users, seen.ItemIds.Length);

        for (var n = 0; n < users.Length; n++)
        {
            var (status, body, version) = await host.GetJson($"/recommend?user_id={seen.UserIds[users[n]]}&k=10");

            status.ShouldBe(HttpStatusCode.OK, body.ToString());
            version.ShouldBe("rec@1");
            body.GetProperty("fallback").ValueKind.ShouldBe(JsonValueKind.Null);
            var items = body.GetProperty("items").EnumerateArray()
                .Select(i => (Index: Array.BinarySearch(seen.ItemIds, i.GetProperty("itemId").GetInt64()), Score: i.GetProperty("score").GetSingle())).ToList();
            items.Count.ShouldBe(10);
            var own = seen.Of(users[n]).ToArray();
            foreach (var (index, score) in items)
            {
                index.ShouldBeGreaterThanOrEqualTo(0);
                own.ShouldNotContain(index);
                score.ShouldBe(direct[n][index], 1e-5);
            }
            items.Select(i => i.Score).ShouldBeInOrder(SortDirection.Descending);
            var bestLeftOut = Enumerable.Range(0, seen.ItemIds.Length).Except(own).Except(items.Select(i => i.Index)).Max(i => direct[n][i]);
            items[^1].Score.ShouldBeGreaterThanOrEqualTo(bestLeftOut - 1e-5f);
        }
    }

    [Fact]
    public async Task Given_a_user_the_model_never_saw_When_recommending_Then_the_most_popular_items_are_flagged_as_the_fallback()
    {
        var host = await models.SharedAsync();

        var (status, body, version) = await host.GetJson("/recommend?user_id=987654321&k=5");

        status.ShouldBe(HttpStatusCode.OK);
        version.ShouldBe("rec@1");
        body.GetProperty("fallback").GetString().ShouldBe("popularity");
        var items = body.GetProperty("items").EnumerateArray().ToList();
        items.Count.ShouldBe(5);
        items.ShouldAllBe(i => i.GetProperty("score").ValueKind == JsonValueKind.Null);
    }

    [Theory]
    [InlineData("", "user_id is required")]
    [InlineData("?user_id=abc", "user_id must be an integer")]
    [InlineData("?user_id=1.5", "user_id must be an integer")]
    [InlineData("?user_id=1&k=0", "k must be an integer from 1 to 100")]
    [InlineData("?user_id=1&k=101", "k must be an integer from 1 to 100")]
    [InlineData("?user_id=1&k=ten", "k must be an integer from 1 to 100")]
    public async Task Given_bad_query_When_recommending_Then_400_problem_with_the_reason(string query, string reason)
    {
        var host = await models.SharedAsync();

        var response = await host.Client.GetAsync("/recommend" + query);

        await response.ShouldBeProblem(HttpStatusCode.BadRequest, reason);
    }

    [Theory]
    [InlineData(new float[] { 0.1f, 0.9f, 0.5f, 0.9f, 0.3f }, new int[0], 3, new[] { 1, 3, 2 })]
    [InlineData(new float[] { 0.1f, 0.9f, 0.5f, 0.9f, 0.3f }, new[] { 1, 2 }, 2, new[] { 3, 4 })]
    [InlineData(new float[] { 0.1f, 0.2f }, new int[0], 5, new[] { 1, 0 })]
    [InlineData(new float[] { 0.1f, 0.2f }, new[] { 0, 1 }, 3, new int[0])]
    public void Given_a_row_of_scores_When_selecting_the_top_k_Then_the_best_unexcluded_items_come_best_first_ties_by_index(
        float[] scores, int[] excluded, int k, int[] expected)
    {
        TopK.Select(scores, excluded, k).Select(t => t.Item).ShouldBe(expected);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 10)]
    [InlineData(3, 100)]
    public void Given_long_rows_with_ties_and_excluded_items_When_selecting_the_top_k_Then_it_equals_a_full_sort(int seed, int k)
    {
        var random = new Random(seed);
        for (var round = 0; round < 50; round++)
        {
            var scores = Enumerable.Range(0, random.Next(1, 2000)).Select(_ => random.Next(200) / 8f).ToArray(); // coarse: many ties
            var excluded = Enumerable.Range(0, scores.Length).Where(_ => random.Next(10) == 0).ToArray();

            var expected = Enumerable.Range(0, scores.Length).Except(excluded).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(k);

            TopK.Select(scores, excluded, k).ShouldBe(expected.Select(i => (i, scores[i])));
        }
    }
}
