using EventMlOps.Agents.Hosting;
using EventMlOps.Contracts.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Serving;

/// <summary>Keeps this agent holding the work order of every endpoint it runs a replica for: after a restart (grants live
/// in memory only) and before a grant grows old, it asks the control plane to send those endpoints' orders again
/// (<see cref="RequestWorkOrders"/>); the orders come back over the agents' queue and resume what they carry (a canary's
/// analysis, the replica's supervision reports).</summary>
public sealed class EndpointOrders(IServingRuntime serving, WorkGrants grants, IWolverineRuntime wolverine, TimeProvider time,
    ILogger<EndpointOrders> log) : BackgroundService
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5), AskAgainAfter = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var asked = new Dictionary<string, DateTimeOffset>();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var now = time.GetUtcNow();
                var due = (await serving.EndpointsAsync(ct))
                    .Where(e => grants.Needs(WorkGrants.Endpoint(e)) && (!asked.TryGetValue(e, out var at) || now - at > AskAgainAfter)).ToList();
                if (due.Count > 0)
                {
                    log.LogInformation("Asking for the work orders of {Endpoints} again", string.Join(", ", due));
                    await new MessageBus(wolverine).SendAsync(new RequestWorkOrders(Guid.NewGuid(), [], due));
                    foreach (var endpoint in due) asked[endpoint] = now;
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogWarning("Asking for the endpoints' work orders failed ({Reason}); trying again in {Interval}", e.Message, CheckEvery);
            }
            try { await Task.Delay(CheckEvery, time, ct); }
            catch (OperationCanceledException) { return; }
        }
    }
}
