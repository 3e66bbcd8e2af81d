using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Training;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Tests.Training;

/// <summary>Given what the agent did (markers) and what the runtime shows → the action.</summary>
public class TrainingPlanTests
{
    [Theory]
    [InlineData(false, false, JobPhase.Missing, TrainingAction.Submit)]
    [InlineData(false, false, JobPhase.Pending, TrainingAction.Follow)]
    [InlineData(false, false, JobPhase.Running, TrainingAction.Follow)]
    [InlineData(false, false, JobPhase.Succeeded, TrainingAction.Follow)]
    [InlineData(false, false, JobPhase.Failed, TrainingAction.Follow)]
    [InlineData(true, false, JobPhase.Running, TrainingAction.Nothing)]
    [InlineData(true, false, JobPhase.Missing, TrainingAction.Nothing)]
    [InlineData(false, true, JobPhase.Running, TrainingAction.Cancel)]
    [InlineData(false, true, JobPhase.Pending, TrainingAction.Cancel)]
    [InlineData(false, true, JobPhase.Missing, TrainingAction.Nothing)]
    [InlineData(false, true, JobPhase.Failed, TrainingAction.Nothing)]
    [InlineData(true, true, JobPhase.Running, TrainingAction.Nothing)]
    public void Given_markers_and_an_observed_job_When_planned_Then_the_action_follows(bool reported, bool cancelled, JobPhase phase, TrainingAction expected) =>
        TrainingPlan.Decide(new RunMarkers(reported, cancelled), new JobObservation("train-x", phase)).ShouldBe(expected);

    private const string Unschedulable = "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu";

    private static JobObservation Pending(string? waiting) => new("train-x", JobPhase.Pending, Waiting: waiting);

    [Fact]
    public void Given_a_job_this_agent_submitted_When_it_waits_then_waits_on_then_clears_Then_only_the_changes_are_reported()
    {
        var submitted = new JobWaiting(null);
        TrainingPlan.Waiting(submitted, Pending(null)).ShouldBeNull("nothing waits, and nothing was on record");
        var waiting = TrainingPlan.Waiting(submitted, Pending(Unschedulable)).ShouldNotBeNull();
        waiting.Reason.ShouldBe(Unschedulable);
        TrainingPlan.Waiting(waiting, Pending(Unschedulable)).ShouldBeNull();
        TrainingPlan.Waiting(waiting, Pending("ImagePullBackOff")).ShouldBe(new JobWaiting("ImagePullBackOff"));
        TrainingPlan.Waiting(waiting, Pending(null)).ShouldBe(new JobWaiting(null), "cleared is news");
    }

    [Fact]
    public void Given_a_resumed_job_When_first_seen_Then_what_it_shows_is_reported_even_all_well() =>
        (TrainingPlan.Waiting(null, Pending(null)), TrainingPlan.Waiting(null, Pending("CrashLoopBackOff")))
            .ShouldBe((new JobWaiting(null), new JobWaiting("CrashLoopBackOff")), "a reason on record may have cleared while no agent watched");

    [Fact]
    public void Given_a_runtime_reason_with_control_characters_or_too_long_When_reported_Then_it_is_one_line_the_control_plane_accepts()
    {
        TrainingPlan.Waiting(null, Pending("  ImagePullBackOff:\n\tback-off\u001b[2J pulling  ")).ShouldBe(new JobWaiting("ImagePullBackOff:  back-off [2J pulling"));
        TrainingPlan.Waiting(null, Pending(" \n ")).ShouldBe(new JobWaiting(null));
        var capped = TrainingPlan.Waiting(null, Pending(new string('x', 5000))).ShouldNotBeNull().Reason.ShouldNotBeNull();
        (capped.Length, capped[^1]).ShouldBe((JobWaitingReport.MaxReasonLength, '…'));
        var emoji = TrainingPlan.Waiting(null, Pending(new string('x', JobWaitingReport.MaxReasonLength - 2) + "🙂🙂")).ShouldNotBeNull().Reason!;
        char.IsHighSurrogate(emoji[^2]).ShouldBeFalse("a character is never cut in half");
    }
}
