using EventMlOps.Contracts.Streams;
using EventMlOps.ControlPlane.Alarms;
using EventMlOps.ControlPlane.Commanding;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Alarms;

/// <summary>The control plane's decisions on a stream scorer's alarm facts, on the endpoint's alarms stream (null before its
/// first alarm), given whether the endpoint exists.</summary>
public class AlarmDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly AnomalyAlarmRaised Raise = new(Guid.NewGuid(), "sensors", "machine-1", 1, Start, Start.AddMinutes(29), 0.9, 0.2);
    private static readonly AnomalyAlarmCleared Clear = new(Guid.NewGuid(), "sensors", "machine-1", 1, Start, Start.AddMinutes(60), 4, 1.7);
    private static readonly AnomalyAlarmRecorded Recorded = new("sensors", "machine-1", 1, Start, Start.AddMinutes(29), 0.9, 0.2, "scorer", Now);

    [Fact]
    public void Given_an_endpoint_without_alarms_yet_When_a_raise_comes_Then_the_alarm_is_recorded() =>
        AlarmDecisions.Raise(true, null, Raise, "scorer", Now).ThenEvents(Recorded);

    [Fact]
    public void Given_the_alarm_recorded_When_the_same_raise_comes_again_Then_nothing_is_appended() =>
        AlarmDecisions.Raise(true, Given<EndpointAlarms>(Recorded), Raise with { CommandId = Guid.NewGuid() }, "scorer", Now).ThenEvents();

    [Fact]
    public void Given_an_open_episode_When_a_raise_for_another_window_comes_Then_it_is_refused() =>
        ThenRefused<Refused>(() => AlarmDecisions.Raise(true, Given<EndpointAlarms>(Recorded), Raise with { WindowStart = Start.AddMinutes(5), WindowEnd = Start.AddMinutes(34) },
            "scorer", Now), "already has an open anomaly alarm");

    [Fact]
    public void Given_an_open_episode_on_one_machine_When_another_machine_raises_Then_its_alarm_is_recorded() =>
        AlarmDecisions.Raise(true, Given<EndpointAlarms>(Recorded), Raise with { Machine = "machine-2" }, "scorer", Now)
            .ThenEvents(Recorded with { Machine = "machine-2" });

    [Fact]
    public void Given_an_open_episode_When_it_is_cleared_Then_it_ends_and_a_new_raise_is_recorded_again()
    {
        var ended = new AnomalyAlarmEnded("sensors", "machine-1", 1, Start, Start.AddMinutes(60), 4, 1.7, "scorer", Now);
        AlarmDecisions.Clear(true, Given<EndpointAlarms>(Recorded), Clear, "scorer", Now).ThenEvents(ended);
        var later = Raise with { WindowStart = Start.AddHours(2), WindowEnd = Start.AddHours(2).AddMinutes(29) };
        AlarmDecisions.Raise(true, Given<EndpointAlarms>(Recorded, ended), later, "scorer", Now)
            .ThenEvents(Recorded with { WindowStart = later.WindowStart, WindowEnd = later.WindowEnd });
    }

    [Fact]
    public void Given_no_open_episode_When_a_clear_comes_Then_it_is_refused() =>
        ThenRefused<Refused>(() => AlarmDecisions.Clear(true, null, Clear, "scorer", Now), "has no open anomaly alarm");

    [Fact]
    public void Given_an_open_episode_When_a_clear_names_another_raise_Then_it_is_refused() =>
        ThenRefused<Refused>(() => AlarmDecisions.Clear(true, Given<EndpointAlarms>(Recorded), Clear with { RaisedWindowStart = Start.AddMinutes(5) }, "scorer", Now),
            "has no open anomaly alarm");

    [Fact]
    public void Given_the_episode_already_ended_When_the_clear_comes_again_Then_it_is_refused_and_nothing_is_appended()
    {
        var ended = new AnomalyAlarmEnded("sensors", "machine-1", 1, Start, Start.AddMinutes(60), 4, 1.7, "scorer", Now);
        ThenRefused<Refused>(() => AlarmDecisions.Clear(true, Given<EndpointAlarms>(Recorded, ended), Clear, "scorer", Now), "has no open anomaly alarm");
    }

    [Fact]
    public void Given_no_endpoint_When_a_raise_or_a_clear_comes_Then_the_endpoint_is_not_found()
    {
        ThenRefused<NotFound>(() => AlarmDecisions.Raise(false, null, Raise, "scorer", Now), "sensors").What.ShouldBe("endpoint");
        ThenRefused<NotFound>(() => AlarmDecisions.Clear(false, null, Clear, "scorer", Now), "sensors").What.ShouldBe("endpoint");
    }

    [Fact]
    public void Given_a_deleted_endpoint_with_an_open_episode_When_a_raise_or_its_clear_comes_Then_the_endpoint_is_not_found()
    {
        var alarms = Given<EndpointAlarms>(Recorded);
        ThenRefused<NotFound>(() => AlarmDecisions.Raise(false, alarms, Raise with { Machine = "machine-2" }, "scorer", Now), "does not exist");
        ThenRefused<NotFound>(() => AlarmDecisions.Clear(false, alarms, Clear, "scorer", Now), "does not exist");
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Given_an_endpoint_When_a_score_threshold_or_max_score_is_not_finite_Then_the_field_is_named(double value)
    {
        var alarms = Given<EndpointAlarms>(Recorded);
        ThenRefused<InvalidField>(() => AlarmDecisions.Raise(true, alarms, Raise with { Machine = "machine-2", Score = value }, "scorer", Now), "finite").Field.ShouldBe("score");
        ThenRefused<InvalidField>(() => AlarmDecisions.Raise(true, alarms, Raise with { Machine = "machine-2", Threshold = value }, "scorer", Now), "finite").Field.ShouldBe("threshold");
        ThenRefused<InvalidField>(() => AlarmDecisions.Clear(true, alarms, Clear with { MaxScore = value }, "scorer", Now), "finite").Field.ShouldBe("maxScore");
    }

    [Fact]
    public void Given_an_endpoint_When_a_score_is_huge_but_finite_Then_it_is_recorded_as_it_came() =>
        AlarmDecisions.Raise(true, null, Raise with { Score = double.MaxValue }, "scorer", Now).ThenEvents(Recorded with { Score = double.MaxValue });

    [Theory]
    [InlineData(65)]
    [InlineData(100_000)]
    public void Given_an_endpoint_When_a_machine_name_is_too_long_Then_it_is_refused_without_echoing_it(int length)
    {
        var ex = ThenRefused<InvalidField>(() => AlarmDecisions.Raise(true, null, Raise with { Machine = new string('m', length) }, "scorer", Now),
            $"a value of {length} characters");
        ex.Field.ShouldBe("machine");
        ex.Message.Length.ShouldBeLessThan(200);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-machine")]
    [InlineData("machine 1")]
    [InlineData("machine-1\n")]
    [InlineData("../../etc/passwd")]
    public void Given_an_endpoint_When_a_machine_name_is_malformed_Then_the_field_is_named(string machine) =>
        ThenRefused<InvalidField>(() => AlarmDecisions.Raise(true, null, Raise with { Machine = machine }, "scorer", Now), "machine").Field.ShouldBe("machine");

    [Fact]
    public void Given_an_endpoint_When_a_window_ends_before_it_starts_Then_the_window_is_refused()
    {
        ThenRefused<InvalidField>(() => AlarmDecisions.Raise(true, null, Raise with { WindowEnd = Start.AddMinutes(-1) }, "scorer", Now), "ends before")
            .Field.ShouldBe("window");
        ThenRefused<InvalidField>(() => AlarmDecisions.Clear(true, Given<EndpointAlarms>(Recorded), Clear with { ClearedWindowEnd = Start.AddMinutes(-1) }, "scorer", Now),
            "ends before").Field.ShouldBe("window");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Given_an_endpoint_When_the_version_or_the_episode_windows_are_below_one_Then_the_field_is_named(int value)
    {
        ThenRefused<InvalidField>(() => AlarmDecisions.Raise(true, null, Raise with { Version = value }, "scorer", Now), "≥ 1").Field.ShouldBe("version");
        ThenRefused<InvalidField>(() => AlarmDecisions.Clear(true, Given<EndpointAlarms>(Recorded), Clear with { Windows = value }, "scorer", Now), "≥ 1").Field.ShouldBe("windows");
    }
}
