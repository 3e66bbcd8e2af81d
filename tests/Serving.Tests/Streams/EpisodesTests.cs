using EventMlOps.Contracts.Streams;
using EventMlOps.Serving.Streams;

namespace EventMlOps.Serving.Tests.Streams;

/// <summary>Alarm episodes from scored windows (threshold 1, cleared after 2 normal windows, raised at the first anomalous
/// window unless a test says otherwise).</summary>
public sealed class EpisodesTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-01T00:00:00Z");

    private static ScoredWindow Window(int i, double score) => new("m-1", 3, T0.AddMinutes(i), T0.AddMinutes(i + 4), score, 1.0);

    private static (OpenEpisode? Episode, List<object> Facts) Given(params double[] scores) => Given(1, scores);

    private static (OpenEpisode? Episode, List<object> Facts) Given(int raiseAfter, params double[] scores)
    {
        OpenEpisode? open = null;
        var facts = new List<object>();
        for (var i = 0; i < scores.Length; i++)
        {
            (open, var fact) = Episodes.Decide("sensors", open, Window(i, scores[i]), clearAfter: 2, raiseAfter);
            if (fact is not null) facts.Add(fact);
        }
        return (open, facts);
    }

    [Fact]
    public void Given_normal_windows_When_one_exceeds_the_threshold_Then_one_alarm_is_raised_at_that_window()
    {
        var (open, facts) = Given(0.2, 0.5, 1.01, 3.0, 2.0);

        var raised = facts.ShouldHaveSingleItem().ShouldBeOfType<AnomalyAlarmRaised>();
        (raised.Machine, raised.Version, raised.WindowStart, raised.WindowEnd, raised.Score, raised.Threshold)
            .ShouldBe(("m-1", 3, T0.AddMinutes(2), T0.AddMinutes(6), 1.01, 1.0));
        open.ShouldBe(new OpenEpisode(T0.AddMinutes(2), 3, 3.0, 0));
    }

    [Fact]
    public void Given_a_window_exactly_at_the_threshold_When_decided_Then_it_is_normal_as_the_trainer_calibrated_it() =>
        // The threshold is the largest validation score left unflagged (AlarmRule.Alarm: score > threshold, everywhere).
        Given(1.0).Facts.ShouldBeEmpty();

    [Fact]
    public void Given_an_open_episode_When_normal_windows_are_interrupted_by_an_anomalous_one_Then_it_clears_only_after_two_in_a_row()
    {
        var (open, facts) = Given(2.0, 0.1, 1.5, 0.1, 0.1, 0.1);

        open.ShouldBeNull();
        facts.Count.ShouldBe(2);
        var cleared = facts[1].ShouldBeOfType<AnomalyAlarmCleared>();
        (cleared.RaisedWindowStart, cleared.ClearedWindowEnd, cleared.Windows, cleared.MaxScore).ShouldBe((T0, T0.AddMinutes(4 + 4), 2, 2.0));
    }

    [Fact]
    public void Given_the_same_windows_When_decided_again_after_a_crash_Then_the_facts_carry_the_same_command_ids()
    {
        Given(2.0, 0.1, 0.1).Facts.Select(f => ((Contracts.ICommand)f).CommandId)
            .ShouldBe(Given(2.0, 0.1, 0.1).Facts.Select(f => ((Contracts.ICommand)f).CommandId));
    }

    [Fact]
    public void Given_raise_after_3_When_anomalous_windows_come_alone_or_two_in_a_row_Then_nothing_is_raised_and_three_raise_from_the_first()
    {
        var (blips, none) = Given(3, 2.0, 0.1, 1.5, 1.2, 0.1);
        (blips, none.Count).ShouldBe((null, 0));

        var (open, facts) = Given(3, 0.1, 2.0, 1.5, 4.0, 1.1);

        var raised = facts.ShouldHaveSingleItem().ShouldBeOfType<AnomalyAlarmRaised>();
        (raised.WindowStart, raised.WindowEnd, raised.Score).ShouldBe((T0.AddMinutes(1), T0.AddMinutes(3 + 4), 4.0));
        open.ShouldBe(new OpenEpisode(T0.AddMinutes(1), 4, 4.0, 0));
    }

    [Fact]
    public void Given_no_episode_When_windows_are_normal_Then_nothing_is_reported()
    {
        var (open, facts) = Given(0.1, 0.99, 0.5);

        (open, facts.Count).ShouldBe((null, 0));
    }
}
