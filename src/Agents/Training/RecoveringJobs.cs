using EventMlOps.Agents.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Training;

/// <summary>On start, every training job the runtime still knows is reconciled like a work order: a running one is
/// followed again to its end, a finished one whose outcome was never reported is reported, one whose process vanished
/// is reported failed — no run stays Running because an agent went away.</summary>
public sealed class TrainingRecovery(IWorkloadRuntime runtime, TrainingWorkspace workspace, TrainingFollower follower,
    ILogger<TrainingRecovery> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var job in await runtime.ListAsync(cancellationToken))
        {
            if (TrainingWorkspace.RunIdOf(job) is not { } runId) continue;
            switch (TrainingPlan.Decide(workspace.Markers(runId), job))
            {
                case TrainingAction.Follow:
                    log.LogInformation("Re-adopting training job {Job} ({Phase})", job.Name, job.Phase);
                    follower.Follow(runId, FollowReason.Resumed);
                    break;
                case TrainingAction.Cancel:
                    log.LogInformation("Training job {Job} of a cancelled run still runs; stopping it", job.Name);
                    await runtime.CancelAsync(job.Name, cancellationToken);
                    follower.Follow(runId, FollowReason.Resumed);
                    break;
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
