using EventMlOps.Agents.Serving;
using EventMlOps.Contracts.Endpoints;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Rollout;

/// <summary>
/// The rollout agent's measuring half: while an endpoint has a canary step in progress (its <see cref="ApplyEndpoint"/>
/// carries a <see cref="CanaryAnalysisOrder"/>), it waits until the endpoint's replica applies the step's traffic split,
/// takes that moment's metrics as the baseline, and every <see cref="RolloutAnalysis.IntervalSeconds"/> reports the
/// canary's and the stable version's requests, server errors and p95 since then, over every replica of the endpoint
/// (<see cref="IEndpointMetrics"/>), as a <see cref="RolloutStepReport"/>.
/// It judges nothing: the control plane decides on each report to wait, advance, promote or roll back, and its next
/// work order ends or replaces this step's analysis. After an agent restart, in-flight canaries are picked up again
/// with the endpoints' work orders, which <see cref="EndpointOrders"/> asks the control plane to send again.
/// </summary>
public sealed class CanaryAnalyzer(
    IEndpointMetrics metrics,
    IWolverineRuntime wolverine,
    TimeProvider time,
    ILogger<CanaryAnalyzer> log) : IHostedService
{
    private static readonly TimeSpan ConvergePoll = TimeSpan.FromMilliseconds(250);

    private readonly Dictionary<string, Tracked> _tracked = [];
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>An endpoint's latest order, and the analysis running for its canary step (if any).</summary>
    private sealed record Tracked(long Revision, CanaryAnalysisOrder? Canary, CancellationTokenSource? Stop);

    /// <summary>Follows the endpoint's latest desired state: starts analysing a new canary step, keeps analysing the same
    /// step (a later revision of it, or the same order again), stops when the canary ended. An order older than one seen
    /// (delivered in parallel with a newer one) changes nothing.</summary>
    public void Track(ApplyEndpoint order)
    {
        lock (_tracked)
        {
            var current = _tracked.GetValueOrDefault(order.Endpoint);
            if (current is not null && order.Revision < current.Revision) return;
            var canary = order.Deleted ? null : order.Canary;
            if (current?.Canary is { } running && canary is not null && running.RolloutId == canary.RolloutId && running.Step == canary.Step)
            {
                _tracked[order.Endpoint] = current with { Revision = order.Revision };
                return;
            }
            current?.Stop?.Cancel();
            current?.Stop?.Dispose();
            var stop = canary is null ? null : CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            _tracked[order.Endpoint] = new Tracked(order.Revision, canary, stop);
            if (stop is not null) _ = AnalyseAsync(order, canary!, stop.Token);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken) => await _stopping.CancelAsync();

    private async Task AnalyseAsync(ApplyEndpoint order, CanaryAnalysisOrder canary, CancellationToken ct)
    {
        await Task.Yield();
        var model = order.Versions.FirstOrDefault()?.ModelName ?? "";
        var bus = new MessageBus(wolverine);
        try
        {
            var baseline = await ConvergedAsync(order.Endpoint, model, canary, ct);
            log.LogInformation("Analysing {Endpoint}: canary v{Canary} at {Weight} % vs stable v{Stable}, step {Step}, every {Interval} s",
                order.Endpoint, canary.CanaryVersion, canary.Current.Weight, canary.StableVersion, canary.Step, canary.Analysis.IntervalSeconds);
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(canary.Analysis.IntervalSeconds), time, ct);
                try
                {
                    if (await metrics.ReadAsync(order.Endpoint, model, ct) is not { } now) continue;
                    if (now.Replicas != baseline.Replicas)
                    {
                        log.LogWarning("The replicas of {Endpoint} changed (one restarted or was added): measuring its canary step afresh", order.Endpoint);
                        baseline = MetricsSnapshot.Empty with { Replicas = now.Replicas };
                    }
                    await bus.SendAsync(new RolloutStepReport(Guid.NewGuid(), order.Endpoint, canary.RolloutId, canary.Step,
                        now.Since(baseline, canary.CanaryVersion), now.Since(baseline, canary.StableVersion)));
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    // The next interval tries again: a canary must not lose its analysis to one failed send.
                    log.LogError(e, "Measuring the canary of {Endpoint} failed; trying again in {Interval} s", order.Endpoint, canary.Analysis.IntervalSeconds);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>The metrics at the moment the replica serves the step's split: only what happens after counts.</summary>
    private async Task<MetricsSnapshot> ConvergedAsync(string endpoint, string model, CanaryAnalysisOrder canary, CancellationToken ct)
    {
        for (var waited = TimeSpan.Zero; ; waited += ConvergePoll)
        {
            if (await metrics.ReadAsync(endpoint, model, ct) is { } snapshot && snapshot.Weights.GetValueOrDefault(canary.CanaryVersion) == canary.Current.Weight)
                return snapshot;
            if (waited > TimeSpan.Zero && waited.TotalSeconds % 30 == 0)
                log.LogWarning("{Endpoint}'s replica does not serve canary v{Version} at {Weight} % yet ({Waited:0} s)", endpoint, canary.CanaryVersion,
                    canary.Current.Weight, waited.TotalSeconds);
            await Task.Delay(ConvergePoll, time, ct);
        }
    }
}
