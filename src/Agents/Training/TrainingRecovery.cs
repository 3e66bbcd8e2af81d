using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Training;

/// <summary>On start, every training job the runtime still knows is reconciled: a cancelled run's job still running is
/// stopped; for the others whose outcome was never reported, the agent asks the control plane to send their work orders
/// again (<see cref="RequestWorkOrders"/>) — it keeps no grants on disk — and each order that comes back is followed like
/// a redelivered one: a running job to its end, a finished one to its report, one whose process vanished reported
/// failed. A run the control plane already finished gets no order and is left alone. It runs beside the host's start,
/// not in it: a cluster's API server that does not answer yet must not keep the agents from serving their health.</summary>
public sealed class TrainingRecovery(IWorkloadRuntime runtime, IWolverineRuntime wolverine,
    ILogger<TrainingRecovery> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken cancellationToken)
    {
        var unreported = new List<Guid>();
        foreach (var job in await runtime.ListAsync(cancellationToken))
        {
            if (TrainingRuns.RunIdOf(job) is not { } runId) continue;
            switch (TrainingPlan.Decide(TrainingRuns.Markers(job), job))
            {
                case TrainingAction.Follow:
                    unreported.Add(runId);
                    break;
                case TrainingAction.Cancel:
                    log.LogInformation("Training job {Job} of a cancelled run still runs; stopping it", job.Name);
                    await runtime.CancelAsync(job.Name, cancellationToken);
                    await TrainingRuns.MarkReportedAsync(runtime, runId, "cancelled", cancellationToken);
                    break;
            }
        }
        if (unreported.Count == 0) return;
        log.LogInformation("Re-adopting {Count} training job(s): asking for their work orders again", unreported.Count);
        await new MessageBus(wolverine).SendAsync(new RequestWorkOrders(Guid.NewGuid(), unreported, []));
    }
}
