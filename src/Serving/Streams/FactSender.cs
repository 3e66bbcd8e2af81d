using EventMlOps.Serving.Converging;

namespace EventMlOps.Serving.Streams;

/// <summary>Drains the scorer's outbox of facts to the control plane in the order they were decided, with the replica's
/// token; a fact is removed only once the control plane took it (their command ids make a repeat after a crash harmless).
/// While the control plane cannot be reached the facts wait, and the next try comes after a second.</summary>
public sealed class FactSender(StreamStore store, IDesiredStateSource source, ILogger<FactSender> log) : BackgroundService
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1), ForgetAfter = TimeSpan.FromDays(1);
    private readonly SemaphoreSlim _wake = new(0);

    public void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var forgotten = DateTime.MinValue;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await DrainAsync(ct);
                if (DateTime.UtcNow - forgotten > TimeSpan.FromMinutes(10))
                {
                    await store.ForgetBatchesAsync(ForgetAfter, ct);
                    forgotten = DateTime.UtcNow;
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogWarning("Sending the stream's facts failed ({Reason}); trying again", e.Message);
            }
            try { await _wake.WaitAsync(Idle, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task DrainAsync(CancellationToken ct)
    {
        while (await store.PendingFactsAsync(100, ct) is { Count: > 0 } pending)
            foreach (var (seq, fact) in pending)
            {
                if (!await source.ReportFactAsync(fact, ct)) return;
                await store.ReportedAsync(seq, ct);
            }
    }
}
