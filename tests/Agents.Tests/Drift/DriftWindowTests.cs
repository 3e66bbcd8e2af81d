using EventMlOps.Agents.Drift;
using EventMlOps.Contracts.Drift;

namespace EventMlOps.Agents.Tests.Drift;

public class DriftWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DriftPolicy Policy = new(WindowSamples: 50, WindowSeconds: 60);

    private static List<DriftSample> Samples(int count, int fromSecond = 0, double value = 1) =>
        [.. Enumerable.Range(0, count).Select(i => new DriftSample(T0.AddSeconds(fromSecond + i * 0.1), "m", 1,
            new Dictionary<string, double[]> { ["x"] = [value + i % 7] }, new Dictionary<string, double[]> { ["error"] = [value] }))];

    [Fact]
    public void Given_no_window_When_120_samples_arrive_Then_two_windows_of_50_close_and_20_stay_open_from_the_first_of_them()
    {
        var samples = Samples(120);

        var (closed, open) = DriftWindow.Add(null, samples, Policy, T0.AddSeconds(12));

        closed.Select(w => (w.Start, w.Samples.Count)).ShouldBe([(samples[0].Time, 50), (samples[50].Time, 50)]);
        closed[0].End.ShouldBe(samples[49].Time);
        (open!.Start, open.Samples.Count).ShouldBe((samples[100].Time, 20));
    }

    [Fact]
    public void Given_an_open_window_When_the_rest_of_its_samples_arrive_Then_it_closes_with_its_first_start()
    {
        var first = Samples(30);
        var (_, open) = DriftWindow.Add(null, first, Policy, T0.AddSeconds(3));

        var (closed, next) = DriftWindow.Add(open, Samples(20, fromSecond: 3), Policy, T0.AddSeconds(6));

        closed.ShouldHaveSingleItem().ShouldSatisfyAllConditions(w => w.Start.ShouldBe(first[0].Time), w => w.Samples.Count.ShouldBe(50));
        next.ShouldBeNull();
    }

    [Fact]
    public void Given_an_open_window_When_its_seconds_passed_Then_it_closes_with_enough_samples_and_waits_with_too_few()
    {
        var (_, enough) = DriftWindow.Add(null, Samples(DriftWindow.MinSamples), Policy, T0.AddSeconds(5));
        var (_, few) = DriftWindow.Add(null, Samples(DriftWindow.MinSamples - 1), Policy, T0.AddSeconds(5));

        var (closed, open) = DriftWindow.Add(enough, [], Policy, T0.AddSeconds(60));
        var (notYet, waiting) = DriftWindow.Add(few, [], Policy, T0.AddSeconds(600));

        closed.ShouldHaveSingleItem().Samples.Count.ShouldBe(DriftWindow.MinSamples);
        open.ShouldBeNull();
        notYet.ShouldBeEmpty();
        waiting!.Samples.Count.ShouldBe(DriftWindow.MinSamples - 1);
        DriftWindow.Add(enough, [], Policy, T0.AddSeconds(59)).Closed.ShouldBeEmpty("not before its seconds passed");
    }

    [Fact]
    public void Given_a_window_and_a_baseline_When_measured_Then_each_shared_feature_is_scored_by_its_role_and_the_others_are_left_out()
    {
        var window = DriftWindow.Add(null, Samples(50), Policy, T0).Closed.Single();
        FeatureReference[] references =
        [
            new("x", FeatureRole.Input, 1000, 2, [.. Enumerable.Range(0, 1000).Select(i => 1.0 + i % 7).Order()], false),
            new("error", FeatureRole.Output, 1000, 1, [.. Enumerable.Range(0, 1000).Select(i => 1.0 + i % 3).Order()], false),
            new("absent", FeatureRole.Input, 10, 1, [1, 2, 3], false),
            new("x", FeatureRole.Output, 10, 1, [1, 2, 3], false),
        ];

        var scores = window.Measure(references, DriftPolicy.Default);

        scores.Select(s => (s.Feature, s.Role, s.Samples)).ShouldBe([("x", FeatureRole.Input, 50), ("error", FeatureRole.Output, 50)]);
        scores[0].ShouldBe(DriftMeasure.Score(references[0], [.. window.Samples.Select(s => s.Inputs["x"][0])], DriftPolicy.Default));
        DriftTest.IsPValue(scores[0].Method).ShouldBeTrue("1,000 reference values: a p-value test");
        scores[0].Score.ShouldBeGreaterThan(0.05, "the same distribution");
        scores[1].Score.ShouldBeLessThan(0.05, "every error is 1: another distribution than 1, 2, 3");
    }
}
