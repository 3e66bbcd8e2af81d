using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Training;

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
}
