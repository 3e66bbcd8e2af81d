using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;

namespace EventMlOps.Agents.Tests.Serving;

/// <summary>The supervisor's decision on each check of a replica: hung or dead → restart, with a backoff while it keeps
/// dying young.</summary>
public class ReplicaHealthTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private static JobObservation Running(DateTimeOffset started) => new("serve-rec", JobPhase.Running, StartedAt: started);

    private static JobObservation Died(DateTimeOffset started, DateTimeOffset finished) =>
        new("serve-rec", JobPhase.Failed, ExitCode: 137, StartedAt: started, FinishedAt: finished);

    [Fact]
    public void Given_a_running_replica_When_it_misses_probes_Then_it_is_restarted_only_after_three_in_a_row_and_never_while_starting()
    {
        var health = new ReplicaHealth(LastStart: T0);
        var now = T0.AddMinutes(5);

        var (once, restart1) = health.Check(Running(T0), answered: false, now, StartTimeout);
        var (twice, restart2) = once.Check(Running(T0), answered: false, now, StartTimeout);
        var (thrice, restart3) = twice.Check(Running(T0), answered: false, now, StartTimeout);

        (restart1, restart2, restart3).ShouldBe((false, false, true));
        twice.Check(Running(T0), answered: true, now, StartTimeout).Next.FailedProbes.ShouldBe(0, "an answer clears the count");
        var starting = new ReplicaHealth(FailedProbes: 5, LastStart: now.AddSeconds(-10));
        starting.Check(Running(now.AddSeconds(-10)), answered: false, now, StartTimeout).Restart.ShouldBeFalse("a replica still starting may not answer yet");
        thrice.FailedProbes.ShouldBe(3);
    }

    [Fact]
    public void Given_a_replica_that_keeps_dying_young_When_checked_Then_it_waits_2_4_8_s_up_to_60_s_from_its_death_and_a_long_life_resets_the_count()
    {
        var health = new ReplicaHealth(LastStart: T0);
        var died = T0.AddSeconds(5);

        health.Check(Died(T0, died), answered: false, died, StartTimeout).Restart.ShouldBeTrue("the first death in a row restarts at once");
        var second = health.Restarted(Died(T0, died), died);
        second.QuickRestarts.ShouldBe(1);
        var diedAgain = died.AddSeconds(3);
        second.Check(Died(died, diedAgain), answered: false, diedAgain.AddSeconds(1), StartTimeout).Restart.ShouldBeFalse("waits 2 s");
        second.Check(Died(died, diedAgain), answered: false, diedAgain.AddSeconds(2), StartTimeout).Restart.ShouldBeTrue();
        Enumerable.Range(0, 9).Select(ReplicaHealth.Backoff).Select(b => b.TotalSeconds).ShouldBe([0, 0, 2, 4, 8, 16, 32, 60, 60]);
        var longLived = new ReplicaHealth(QuickRestarts: 7, LastStart: T0);
        longLived.Restarted(Died(T0, T0.AddMinutes(10)), T0.AddMinutes(10)).QuickRestarts.ShouldBe(0);
        longLived.Check(Died(T0, T0.AddMinutes(10)), answered: false, T0.AddMinutes(10), StartTimeout).Restart.ShouldBeTrue();
    }

    [Fact]
    public void Given_a_replica_being_submitted_When_checked_Then_nothing_happens() =>
        new ReplicaHealth(LastStart: T0).Check(new JobObservation("serve-rec", JobPhase.Pending), answered: false, T0.AddHours(1), StartTimeout)
            .ShouldBe((new ReplicaHealth(LastStart: T0), false));
}
