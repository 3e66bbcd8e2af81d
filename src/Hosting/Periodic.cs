namespace EventMlOps.Hosting;

/// <summary>Background work done every <c>interval</c> until the host stops: a failed round is reported and the next
/// one tries again; stopping ends it quietly.</summary>
public static class Periodic
{
    public static async Task RunAsync(TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> work, Action<Exception> failed,
        bool startNow, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            for (var go = startNow || await timer.WaitForNextTickAsync(ct); go; go = await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    await work(ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    failed(e);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the host stops
        }
    }
}
