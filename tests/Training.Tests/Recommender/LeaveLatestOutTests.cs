using EventMlOps.Training.Recommender;

namespace EventMlOps.Training.Tests.Recommender;

public class LeaveLatestOutTests
{
    private static Interactions Toy()
    {
        // 150 items; user 1 has items 1,2,3 (3 latest), user 2 has 10,11 (10 latest), user 3 has one interaction.
        var users = new List<long> { 1, 1, 1, 2, 2, 3 };
        var items = new List<long> { 1, 2, 3, 11, 10, 1 };
        var times = new List<long> { 10, 20, 30, 50, 60, 70 };
        for (var i = 1; i <= 150; i++) (users, items, times) = (users.Append(100).ToList(), items.Append(i).ToList(), times.Append(i).ToList());
        return Interactions.FromRaw(users.ToArray(), items.ToArray(), times.ToArray());
    }

    [Fact]
    public void Given_users_When_split_Then_each_users_latest_interaction_is_held_out_among_99_unseen_items()
    {
        var data = Toy();
        var split = LeaveLatestOut.Split(data, 99, new Random(1));

        // user 3 has a single interaction and user 100 has every item: neither can be evaluated
        split.TestUsers.Select(u => data.UserIds[u]).ShouldBe([1L, 2L]);
        split.CandidatesPerUser.ShouldBe(100);
        data.ItemIds[split.Candidates[0]].ShouldBe(3L);
        data.ItemIds[split.Candidates[100]].ShouldBe(10L);
        for (var row = 0; row < 2; row++)
        {
            var user = split.TestUsers[row];
            var known = Enumerable.Range(0, data.Count).Where(i => data.Users[i] == user).Select(i => data.Items[i]).ToHashSet();
            var negatives = split.Candidates.Skip(row * 100 + 1).Take(99).ToList();
            negatives.Distinct().Count().ShouldBe(99);
            negatives.ShouldAllBe(item => !known.Contains(item));
        }
        split.TrainUsers.Length.ShouldBe(data.Count - 2);
        split.IsTrainItem(split.TestUsers[0], split.Candidates[0]).ShouldBeFalse("the held-out item is not training data");
        split.IsTrainItem(split.TestUsers[0], Array.IndexOf(data.ItemIds, 2L)).ShouldBeTrue();
    }

    [Fact]
    public void Given_the_same_seed_When_split_twice_Then_the_candidates_are_the_same()
    {
        var data = Toy();

        LeaveLatestOut.Split(data, 99, new Random(5)).Candidates.ShouldBe(LeaveLatestOut.Split(data, 99, new Random(5)).Candidates);
    }

    [Fact]
    public void Given_a_split_When_an_epoch_is_sampled_Then_every_positive_comes_with_negatives_unseen_in_training()
    {
        var data = InteractionGenerator.Generate(new InteractionGeneratorOptions(200, 150, 6000, 3));
        var split = LeaveLatestOut.Split(data, 99, new Random(3));

        var (users, items, labels) = RecommenderTrainer.SampleEpoch(split, 4, new Random(3));

        labels.Length.ShouldBe(split.TrainUsers.Length * 5);
        labels.Count(l => l == 1f).ShouldBe(split.TrainUsers.Length);
        for (var i = 0; i < labels.Length; i++)
            split.IsTrainItem((int)users[i], (int)items[i]).ShouldBe(labels[i] == 1f);
    }
}
