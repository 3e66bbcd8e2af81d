using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using Marten;
using SessionOptions = Marten.Services.SessionOptions;
using Npgsql;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>Group commit for API commands: the commands that arrive while a transaction is committing are decided one by one
/// in the next transaction — each in a Marten session of its own on that transaction (<see cref="SessionOptions.ForTransaction"/>),
/// so each sees the ones before it, keeps its own idempotency record, actor and correlation, and gets its own answer — and
/// committed together. Nothing waits for a batch to fill: a command that finds no other waiting and a lane free is committed
/// alone at once, on its own thread (batches form only while every lane is busy).
/// <para>Each command of a batch runs under a savepoint: whatever fails it — its decision's refusal, a concurrent writer's conflict
/// or twin caught as its events and record are written — is rolled back to that savepoint, alone, and the batch goes on.
/// A conflict with a concurrent writer, a deadlock or a serialization failure sends the command back to the queue after a
/// pause, to be decided again (as Wolverine retries them). A failed commit fails every command of the batch with 503
/// (nothing was kept; the same command id may be retried). No command is answered before its transaction committed.</para></summary>
public sealed class GroupCommit : BackgroundService
{
    /// <summary>Commands per transaction at most: each holds a subtransaction (its savepoint), and PostgreSQL keeps 64 per
    /// transaction in shared memory before its snapshots slow down; a long batch also delays its first answer.</summary>
    public const int MaxBatch = 32;

    /// <summary>Commands waiting for a lane at most; beyond, 503 (the HTTP limiter keeps command routes far below it).</summary>
    public const int MaxQueued = 4096;

    /// <summary>Transactions deciding and committing at once (<c>Api:CommitLanes</c>, 4), a lone command's included: a lane
    /// decides its commands one after another, each a few round trips to the database, so several lanes keep both the
    /// database and the host busy.</summary>
    public const string LanesSetting = "Api:CommitLanes";

    private const string Savepoint = "command";

    private static readonly TimeSpan[] Retries = [TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250)];

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(MaxQueued));
    private readonly IDocumentStore _store;
    private readonly TimeProvider _time;
    private readonly int _lanes;
    private readonly Tokens _tokens;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _duration;
    private readonly SemaphoreSlim _lanesFree;
    private volatile bool _stopping;
    private long _commits, _commands;

    public GroupCommit(IDocumentStore store, Tokens tokens, TimeProvider time, IConfiguration config, IMeterFactory meters)
    {
        _store = store;
        _tokens = tokens;
        _time = time;
        _lanes = Math.Clamp(config.GetValue(LanesSetting, 4), 1, 16);
        _lanesFree = new SemaphoreSlim(_lanes, _lanes);
        var meter = meters.Create(Drift.DriftMetrics.MeterName);
        _batchSize = meter.CreateHistogram("emo.commands.batch.size", "{command}", "API commands committed in one transaction (group commit)",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32] });
        _duration = meter.CreateHistogram<double>("emo.commands.duration", "s",
            "API commands from admission to answer, by command type and outcome (accepted, duplicate, conflict, error, or the kind of refusal)");
    }

    /// <summary>Commands waiting for a lane.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>Transactions that appended, and the commands they accepted, since the start: their ratio is the commands per commit.</summary>
    public (long Commits, long Commands) Committed => (Interlocked.Read(ref _commits), Interlocked.Read(ref _commands));

    /// <summary>Admits <paramref name="command"/> (token, grant, role, shape: <see cref="CommandGate.AdmitAsync"/>, here on
    /// the caller's thread), then decides and commits it with the next batch; after a concurrent writer's conflict, a
    /// deadlock or a serialization failure, again with a later one.</summary>
    public async Task<CommandAccepted> CommitAsync(ICommand command, CommandHandlers.Handler handler, string? token, string? grant, string correlationId,
        CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "accepted";
        try
        {
            var actor = await CommandGate.AdmitAsync(command, token, grant, _tokens);
            for (var attempt = 0; ; attempt++)
            {
                var pending = new Pending(command, handler, actor, correlationId);
                if (_stopping)
                    throw new Unavailable("the control plane is stopping; nothing was recorded: retry with the same command id");
                if (_queue.Reader.Count == 0 && _lanesFree.Wait(0))
                {
                    // Nothing waits and a lane is free: no batch can form, so the command is committed at once, on this thread.
                    try { await RunAsync([pending]); }
                    finally { _lanesFree.Release(); }
                }
                else if (!_queue.Writer.TryWrite(pending))
                    throw new Unavailable("the control plane has too many commands waiting; nothing was recorded: retry with the same command id");
                try
                {
                    return await pending.Outcome.Task;
                }
                catch (Exception) when (pending.Retryable && attempt < Retries.Length)
                {
                    await Task.Delay(Retries[attempt], _time, ct);
                }
            }
        }
        catch (Exception e)
        {
            outcome = Outcome(e);
            throw;
        }
        finally
        {
            _duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("command", command.GetType().Name), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    /// <summary>Later commands are answered 503; the queued ones are still decided and committed before the lanes stop.</summary>
    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        return base.StopAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stopping) =>
        Task.WhenAll(Enumerable.Range(0, _lanes).Select(_ => Task.Run(LaneAsync, CancellationToken.None)));

    private async Task LaneAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            await _lanesFree.WaitAsync();
            try
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next))
                    batch.Add(next);
                if (batch.Count > 0)
                    await RunAsync(batch);
            }
            finally
            {
                _lanesFree.Release();
            }
        }
    }

    /// <summary>One transaction for <paramref name="batch"/>, each command under its own savepoint. Nothing here is
    /// cancelled: a batch under way is finished, so that no answer says "not committed" of a commit that happened.</summary>
    private async Task RunAsync(IReadOnlyList<Pending> batch)
    {
        var answers = new CommandAccepted?[batch.Count];
        var failures = new Exception?[batch.Count];
        try
        {
            await using var connection = _store.Storage.Database.CreateConnection();
            await connection.OpenAsync();
            await using var tx = await connection.BeginTransactionAsync();
            var handled = await HandledBeforeAsync(batch, tx);
            var isolated = batch.Count > 1; // a command alone needs no savepoint: its failure keeps the transaction from committing
            for (var i = 0; i < batch.Count; i++)
            {
                var p = batch[i];
                var saving = false;
                if (isolated) await tx.SaveAsync(Savepoint);
                try
                {
                    await using var session = _store.LightweightSession(SessionOptions.ForTransaction(tx));
                    var record = CommandGate.Record(p.Command, handled.GetValueOrDefault(p.Command.CommandId), p.Actor, p.CorrelationId, session, _time);
                    answers[i] = await p.Handler(p.Command, p.Actor, session, CancellationToken.None);
                    saving = true;
                    await session.SaveChangesAsync();
                    if (record is not null)
                        handled[record.Id] = record; // a twin later in the batch is a duplicate of this one
                }
                catch (Exception e)
                {
                    if (isolated) await tx.RollbackAsync(Savepoint); // nothing of this command stays; the others go on
                    (answers[i], failures[i]) = (null, Transient(e) ? new Unavailable("the database could not take the command now; retry it with the same command id") : e);
                    p.Retryable = Transient(e) || (saving && ProblemMapping.IsConflict(e));
                }
            }
            if (failures.Any(f => f is null))
                await tx.CommitAsync(); // else nothing is kept: the transaction is rolled back as it is disposed
        }
        catch (Exception)
        {
            // The connection, a savepoint or the commit failed: nothing of the batch was kept.
            var failure = new Unavailable("the command was not committed (the event store's database failed); retry it with the same command id");
            foreach (var p in batch) p.Outcome.TrySetException(failure);
            return;
        }
        if (failures.Count(f => f is null) is var committed and > 0)
        {
            Interlocked.Increment(ref _commits);
            Interlocked.Add(ref _commands, committed);
            _batchSize.Record(committed);
        }
        for (var i = 0; i < batch.Count; i++)
            if (failures[i] is { } failure)
                batch[i].Outcome.TrySetException(failure);
            else
                batch[i].Outcome.TrySetResult(answers[i]!);
    }

    /// <summary>The idempotency records of the batch's command ids, read in one query in the batch's transaction.</summary>
    private async Task<Dictionary<Guid, HandledCommand>> HandledBeforeAsync(IReadOnlyList<Pending> batch, NpgsqlTransaction tx)
    {
        var ids = batch.Where(p => p.Command is not IPeriodic).Select(p => p.Command.CommandId).Distinct().ToArray();
        if (ids.Length == 0) return [];
        await using var query = _store.QuerySession(SessionOptions.ForTransaction(tx));
        return (await query.LoadManyAsync<HandledCommand>(CancellationToken.None, ids)).ToDictionary(h => h.Id);
    }

    /// <summary>A database error a later transaction may not meet: a deadlock, a serialization failure, a lock timeout — or
    /// the aborted transaction that Marten's own retry of one of those meets on a transaction it does not own.</summary>
    private static bool Transient(Exception e) => SqlState(e) is "40P01" or "40001" or "55P03" or "25P02";

    private static string? SqlState(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is PostgresException p)
                return p.SqlState;
        return null;
    }

    /// <summary>The outcome label: a small, fixed set (a unique violation here is a concurrent twin's idempotency record).</summary>
    private static string Outcome(Exception e) => e switch
    {
        AlreadyHandled => "duplicate",
        _ when SqlState(e) == PostgresErrorCodes.UniqueViolation => "duplicate",
        _ when ProblemMapping.IsConflict(e) => "conflict",
        InvalidField or Unauthenticated or Forbidden or NotFound or Refused or Busy or Unavailable => e.GetType().Name,
        _ => "error",
    };

    private sealed record Pending(ICommand Command, CommandHandlers.Handler Handler, Actor Actor, string CorrelationId)
    {
        public TaskCompletionSource<CommandAccepted> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Failed by what a later transaction may not meet (a concurrent writer's conflict, a deadlock): worth deciding again.</summary>
        public bool Retryable { get; set; }
    }
}
