using System.Threading.Channels;

namespace EventMlOps.Serving.Batching;

/// <summary>The batch queue is full: the caller answers 429 at once rather than letting latency grow.</summary>
public sealed class QueueFullException(string model) : Exception($"the batch queue of {model} is full");

/// <summary>Collects concurrent requests into one model run, adaptively: a request that finds the model idle (nothing
/// running, nothing waiting) runs at once on the caller's thread, so a lone request never waits for a batch; requests
/// that arrive while a run is in progress wait, and one worker per loaded version then takes every waiting request (up to
/// <c>maxBatch</c> rows) into the next run, after waiting up to <c>maxDelay</c> for more when it is positive and the
/// batch is not full. One run at a time. Beyond <c>capacity</c> unfinished requests <see cref="Submit"/> throws
/// <see cref="QueueFullException"/>.</summary>
/// <param name="run">Runs one batch: the inputs in order, their rows in total → one result per input.</param>
/// <param name="onBatch">Told the rows of each batch (metrics).</param>
public sealed class Batcher<TIn, TOut> : IAsyncDisposable
{
    private sealed record Pending(TIn Input, int Rows, TaskCompletionSource<TOut> Done);

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IReadOnlyList<TIn>, int, TOut[]> _run;
    private readonly Action<int> _onBatch;
    private readonly string _name;
    private readonly int _maxBatch, _capacity;
    private readonly TimeSpan _maxDelay;
    private readonly Task _worker;
    private readonly SemaphoreSlim _running = new(1, 1);
    private int _pending;
    private long _atOnce, _queued;
    private volatile bool _closed;

    public Batcher(string name, int maxBatch, TimeSpan maxDelay, int capacity, Func<IReadOnlyList<TIn>, int, TOut[]> run, Action<int> onBatch)
    {
        (_name, _maxBatch, _maxDelay, _capacity, _run, _onBatch) = (name, Math.Max(1, maxBatch), maxDelay, capacity, run, onBatch);
        _worker = Task.Run(WorkAsync);
    }

    /// <summary>Requests submitted and not yet answered.</summary>
    public int Depth => Volatile.Read(ref _pending);

    /// <summary>Requests that found the model idle and ran at once.</summary>
    public long RanAtOnce => Interlocked.Read(ref _atOnce);

    /// <summary>Requests that waited for a run in progress and joined the next batch.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    public Task<TOut> Submit(TIn input, int rows)
    {
        var depth = Interlocked.Increment(ref _pending);
        if (depth > _capacity)
        {
            Interlocked.Decrement(ref _pending);
            throw new QueueFullException(_name);
        }
        if (_closed)
        {
            Interlocked.Decrement(ref _pending);
            throw new ObjectDisposedException(_name);
        }
        if (depth == 1 && _running.Wait(0))
        {
            Interlocked.Increment(ref _atOnce);
            var done = new TaskCompletionSource<TOut>();
            try
            {
                Run([new Pending(input, rows, done)], rows);
            }
            finally
            {
                _running.Release();
            }
            return done.Task;
        }
        // Continuations must not run on the worker: it would serialise every caller's response writing.
        var pending = new Pending(input, rows, new TaskCompletionSource<TOut>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _pending);
            throw new ObjectDisposedException(_name);
        }
        Interlocked.Increment(ref _queued);
        return pending.Done.Task;
    }

    private async Task WorkAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>(_maxBatch);
        while (await reader.WaitToReadAsync())
        {
            await _running.WaitAsync();
            var rows = 0;
            var closesAt = DateTime.UtcNow + _maxDelay;
            while (true)
            {
                while (reader.TryPeek(out var next) && (batch.Count == 0 || rows + next.Rows <= _maxBatch))
                {
                    reader.TryRead(out _);
                    batch.Add(next);
                    rows += next.Rows;
                }
                var wait = closesAt - DateTime.UtcNow;
                if (rows >= _maxBatch || reader.TryPeek(out _) || wait <= TimeSpan.Zero || !await MoreWithin(reader, wait)) break;
            }
            try
            {
                Run(batch, rows);
            }
            finally
            {
                _running.Release();
            }
            batch.Clear();
        }
    }

    /// <summary>Whether another request arrives within <paramref name="wait"/> (a timer, not a cancelled token: no
    /// exception per batch on the hot path).</summary>
    private static async Task<bool> MoreWithin(ChannelReader<Pending> reader, TimeSpan wait)
    {
        var more = reader.WaitToReadAsync().AsTask();
        return await Task.WhenAny(more, Task.Delay(wait)) == more && await more;
    }

    private void Run(List<Pending> batch, int rows)
    {
        try
        {
            _onBatch(rows);
            var results = _run(batch.ConvertAll(p => p.Input), rows);
            for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
        }
        catch (Exception e)
        {
            foreach (var p in batch) p.Done.TrySetException(e);
        }
        finally
        {
            Interlocked.Add(ref _pending, -batch.Count);
        }
    }

    /// <summary>Stops taking requests and finishes the ones already queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _closed = true;
        _queue.Writer.TryComplete();
        await _worker;
    }
}
