using EventMlOps.Contracts;
using Marten;

namespace EventMlOps.ControlPlane.Training;

/// <summary>A run's liveness: its job's last heartbeat, a document each beat overwrites. Beats are not history — a
/// 10-hour run beats 2,400 times — so none is an event; only the decision taken on their absence is
/// (<see cref="TrainingRunStalled"/>).</summary>
public sealed record RunLiveness(string Id, Guid RunId, string JobName, DateTimeOffset LastBeatAt);

/// <summary>Decides, every quarter of <c>Training:StallSeconds</c> (120), that a run whose job has not beaten for that
/// long stalled (once per last beat: beats that resume and stop again make a new decision). One control plane or many:
/// the decision is idempotent and the stream's version is checked at commit.</summary>
public sealed class RunStallWatch(IDocumentStore store, IConfiguration config, TimeProvider time, ILogger<RunStallWatch> log) : BackgroundService
{
    public const string Actor = "run-liveness";

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var after = TimeSpan.FromSeconds(Math.Max(1, config.GetValue("Training:StallSeconds", 120.0)));
        await Periodic.RunAsync(after / 4, time, token => CheckAsync(after, token),
            e => log.LogWarning("Checking training runs' liveness failed ({Reason}); trying again in {Interval}", e.Message, after / 4), startNow: false, ct);
    }

    public async Task CheckAsync(TimeSpan after, CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - after;
        IReadOnlyList<RunLiveness> silent;
        await using (var query = store.QuerySession())
            silent = await query.Query<RunLiveness>().Where(l => l.LastBeatAt < cutoff).ToListAsync(ct);
        foreach (var liveness in silent)
        {
            await using var session = store.LightweightSession();
            session.LastModifiedBy = Actor;
            var run = await session.Events.FetchForWriting<TrainingRun>(liveness.Id, ct);
            if (run.Aggregate is null or { IsFinished: true })
            {
                // A finished run needs no watching: its liveness goes.
                session.Delete(liveness);
                await session.SaveChangesAsync(ct);
                continue;
            }
            // Read again now: a beat that arrived since the query is no silence.
            if (await session.LoadAsync<RunLiveness>(liveness.Id, ct) is not { } current) continue;
            var events = TrainingDecisions.Stalled(run.Aggregate, current, time.GetUtcNow(), after);
            if (events.Length == 0) continue;
            run.AppendMany(events);
            await session.SaveChangesAsync(ct);
            log.LogWarning("Training run {RunId} stalled: its job {Job} has not beaten since {LastBeat}", current.RunId, current.JobName, current.LastBeatAt);
        }
    }
}
