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
/// committed together. Nothing waits for a batch to fill: a command that finds no other queued is committed alone at once.
/// <para>A command refused by its decision leaves nothing in the transaction and fails alone. A database error in a batch
/// (a concurrent writer's conflict, a concurrent twin's idempotency record) rolls the whole batch back, and every command
/// of it is then decided again in a transaction of its own, so one command's conflict never fails another. A failed
/// commit fails every command of the batch (nothing was appended; the same command id may be retried). A command is
/// answered only after its transaction committed.</para></summary>
public sealed class GroupCommit : BackgroundService
{
    /// <summary>Commands per transaction at most; each is a subtransaction-free session, but a long batch delays its first answer.</summary>
    public const int MaxBatch = 32;

    /// <summary>Batches decided and committed concurrently (<c>Api:CommitLanes</c>, 4): a lane decides its commands one after
    /// another, each a few round trips to the database, so several lanes keep both the database and the host busy.</summary>
    public const string LanesSetting = "Api:CommitLanes";

    private static readonly TimeSpan[] ConflictRetries = [TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250)];

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly IDocumentStore _store;
    private readonly TimeProvider _time;
    private readonly int _lanes;
    private readonly Tokens _tokens;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _duration;
    private long _commits, _commands;

    public GroupCommit(IDocumentStore store, Tokens tokens, TimeProvider time, IConfiguration config, IMeterFactory meters)
    {
        _store = store;
        _tokens = tokens;
        _time = time;
        _lanes = Math.Clamp(config.GetValue(LanesSetting, 4), 1, 16);
        var meter = meters.Create(Drift.DriftMetrics.MeterName);
        _batchSize = meter.CreateHistogram("emo.commands.batch.size", "{command}", "API commands committed in one transaction (group commit)",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32] });
        _duration = meter.CreateHistogram<double>("emo.commands.duration", "s",
            "API commands from admission to answer, by command type and outcome (accepted, or the kind of refusal)");
    }

    /// <summary>Commands waiting for a lane.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>Transactions that appended, and the commands they accepted, since the start: their ratio is the commands per commit.</summary>
    public (long Commits, long Commands) Committed => (Interlocked.Read(ref _commits), Interlocked.Read(ref _commands));

    /// <summary>Admits <paramref name="command"/> (token, grant, role, shape: <see cref="CommandGate.AdmitAsync"/>, here on
    /// the caller's thread), then decides and commits it with the next batch. Decided again alone when its batch was rolled
    /// back; after a concurrent writer's conflict, again after a pause (as Wolverine retries them; a stale expected version,
    /// refused by the decision itself, is not retried).</summary>
    public async Task<CommandAccepted> CommitAsync(ICommand command, CommandHandlers.Handler handler, string? token, string? grant, string correlationId,
        CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "accepted";
        try
        {
            var actor = await CommandGate.AdmitAsync(command, token, grant, _tokens);
            var pending = new Pending(command, handler, actor, correlationId);
            await _queue.Writer.WriteAsync(pending, ct);
            for (var conflicts = 0; ;)
            {
                try
                {
                    if (await pending.Outcome.Task is { } accepted)
                        return accepted;
                }
                catch (Exception e) when (pending.Spoilt && ProblemMapping.IsConflict(e) && conflicts < ConflictRetries.Length)
                {
                    await Task.Delay(ConflictRetries[conflicts++], _time, ct);
                }
                pending = new Pending(command, handler, actor, correlationId);
                await RunAsync([pending], CancellationToken.None);
            }
        }
        catch (Exception e)
        {
            outcome = e.GetType().Name; // the refusal's kind (InvalidField, Forbidden, AlreadyHandled …): a small, fixed set
            throw;
        }
        finally
        {
            _duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("command", command.GetType().Name), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    protected override Task ExecuteAsync(CancellationToken stopping) =>
        Task.WhenAll(Enumerable.Range(0, _lanes).Select(_ => Task.Run(() => LaneAsync(stopping), stopping)));

    private async Task LaneAsync(CancellationToken stopping)
    {
        var batch = new List<Pending>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stopping))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next))
                    batch.Add(next);
                if (batch.Count > 0)
                    await RunAsync(batch, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            while (_queue.Reader.TryRead(out var left))
                left.Outcome.TrySetException(new Unavailable("the control plane is stopping; the command was not committed: retry it with the same command id"));
        }
    }

    /// <summary>One transaction for <paramref name="batch"/>. Each command ends with its answer, its refusal, the failure of
    /// its transaction, or null: decide it again alone (a database error rolled its batch back).</summary>
    private async Task RunAsync(IReadOnlyList<Pending> batch, CancellationToken stopping)
    {
        var answers = new CommandAccepted?[batch.Count];
        var refusals = new Exception?[batch.Count];
        var committing = false;
        try
        {
            await using var connection = _store.Storage.Database.CreateConnection();
            await connection.OpenAsync(stopping);
            await using var tx = await connection.BeginTransactionAsync(stopping);
            var handled = await HandledBeforeAsync(batch, tx, stopping);
            for (var i = 0; i < batch.Count; i++)
            {
                var p = batch[i];
                await using var session = _store.LightweightSession(SessionOptions.ForTransaction(tx));
                HandledCommand? record;
                try
                {
                    record = CommandGate.Record(p.Command, handled.GetValueOrDefault(p.Command.CommandId), p.Actor, p.CorrelationId, session, _time);
                    answers[i] = await p.Handler(p.Command, p.Actor, session, stopping);
                }
                catch (Exception e) when (e is not (OperationCanceledException or NpgsqlException) && e.InnerException is not NpgsqlException)
                {
                    refusals[i] = e; // decided against before anything of it was written
                    continue;
                }
                await session.SaveChangesAsync(stopping); // a failure here spoils the transaction
                if (record is not null)
                    handled[record.Id] = record; // a twin later in the batch is a duplicate of this one
            }
            committing = true;
            await tx.CommitAsync(stopping);
        }
        catch (Exception) when (!committing && batch.Count > 1)
        {
            foreach (var p in batch) p.Outcome.TrySetResult(null);
            return;
        }
        catch (Exception e)
        {
            foreach (var p in batch) p.Spoilt = !committing;
            var failure = committing && ProblemMapping.Describe(e) is null
                ? new Unavailable("the command was not committed (the event store's database refused the commit); retry it with the same command id")
                : e;
            foreach (var p in batch) p.Outcome.TrySetException(failure);
            return;
        }
        if (refusals.Count(r => r is null) is var committed and > 0)
        {
            Interlocked.Increment(ref _commits);
            Interlocked.Add(ref _commands, committed);
            _batchSize.Record(committed);
        }
        for (var i = 0; i < batch.Count; i++)
            if (refusals[i] is { } refusal)
                batch[i].Outcome.TrySetException(refusal);
            else
                batch[i].Outcome.TrySetResult(answers[i]);
    }

    /// <summary>The idempotency records of the batch's command ids, read in one query in the batch's transaction.</summary>
    private async Task<Dictionary<Guid, HandledCommand>> HandledBeforeAsync(IReadOnlyList<Pending> batch, NpgsqlTransaction tx, CancellationToken ct)
    {
        var ids = batch.Where(p => p.Command is not IPeriodic).Select(p => p.Command.CommandId).Distinct().ToArray();
        if (ids.Length == 0) return [];
        await using var query = _store.QuerySession(SessionOptions.ForTransaction(tx));
        return (await query.LoadManyAsync<HandledCommand>(ct, ids)).ToDictionary(h => h.Id);
    }

    private sealed record Pending(ICommand Command, CommandHandlers.Handler Handler, Actor Actor, string CorrelationId)
    {
        public TaskCompletionSource<CommandAccepted?> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Failed by a database error before the commit: a conflict with a concurrent writer is worth deciding again.</summary>
        public bool Spoilt { get; set; }
    }
}
