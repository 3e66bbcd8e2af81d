using EventMlOps.Training.Recommender;

namespace EventMlOps.Training.Tests.Recommender;

public class InteractionGeneratorTests
{
    private static readonly InteractionGeneratorOptions Small = new(Users: 300, Items: 200, Interactions: 20_000, Seed: 7);

    [Fact]
    public void Given_the_same_seed_When_generated_twice_Then_the_data_is_identical()
    {
        var a = InteractionGenerator.Generate(Small);
        var b = InteractionGenerator.Generate(Small);

        a.Users.ShouldBe(b.Users);
        a.Items.ShouldBe(b.Items);
        a.Timestamps.ShouldBe(b.Timestamps);
        a.ItemIds.ShouldBe(b.ItemIds);
    }

    [Fact]
    public void Given_another_seed_When_generated_Then_the_data_differs()
    {
        var a = InteractionGenerator.Generate(Small);
        var b = InteractionGenerator.Generate(Small with { Seed = 8 });

        a.Items.SequenceEqual(b.Items).ShouldBeFalse();
    }

    [Fact]
    public void Given_sizes_When_generated_Then_it_is_movielens_shaped()
    {
        var data = InteractionGenerator.Generate(Small);

        data.Count.ShouldBe(20_000);
        data.UserCount.ShouldBe(300);
        data.ItemCount.ShouldBeLessThanOrEqualTo(200);
        data.UserIds[0].ShouldBe(1L, "ids are 1-based like MovieLens'");
        var perUser = data.Users.GroupBy(u => u).Select(g => g.Count()).ToList();
        perUser.Min().ShouldBeGreaterThanOrEqualTo(20);
        perUser.Max().ShouldBeGreaterThan(2 * perUser.Min(), "activity is skewed");
        var popularity = data.ItemCounts().Order().ToArray();
        popularity[^1].ShouldBeGreaterThan(2 * popularity[popularity.Length / 2], "popularity is skewed (each of 300 users has an item at most once)");
    }
}
