using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using EventMlOps.Contracts.Agents;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Hosting;

/// <summary>Tells the control plane every <see cref="TrainingAgentOptions.HeartbeatInterval"/> that this host is alive, on
/// which runtimes, with how many unfinished jobs and served endpoints (<c>emo status</c> shows it). A beat that cannot be
/// counted or sent is logged and the next one tried: liveness is never worth stopping the agents for.</summary>
public sealed class AgentBeat(IWorkloadRuntime jobs, IServingRuntime serving, IWolverineRuntime wolverine, TrainingAgentOptions options,
    ILogger<AgentBeat> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var bus = new MessageBus(wolverine);
        using var timer = new PeriodicTimer(options.HeartbeatInterval);
        do
        {
            try
            {
                var unfinished = (await jobs.ListAsync(ct)).Count(j => !j.IsFinished && j.Phase != JobPhase.Missing);
                var endpoints = (await serving.EndpointsAsync(ct)).Count;
                await bus.SendAsync(new AgentHeartbeat(Guid.NewGuid(), jobs.Kind, serving.Kind, unfinished, endpoints));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning(e, "The agents' heartbeat could not be sent; trying again in {Interval}", options.HeartbeatInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(ct));
    }
}
