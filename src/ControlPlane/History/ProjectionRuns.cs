using System.Collections.Concurrent;
using EventMlOps.Contracts.Views;

namespace EventMlOps.ControlPlane.History;

/// <summary>
/// The rebuilds and verifications started over HTTP: each is claimed before it is accepted (so a second one of the same
/// projection is refused at once), then runs in the background while its caller polls it. The latest ones are kept in this
/// replica's memory for their callers to read.
/// </summary>
public sealed class ProjectionRuns(ProjectionRebuild rebuild, IHostApplicationLifetime lifetime, TimeProvider clock, ILogger<ProjectionRuns> log)
{
    private const int Kept = 20;
    private readonly ConcurrentDictionary<Guid, Run> _runs = new();

    public async Task<ProjectionRun> StartAsync(RebuildRequest request, CancellationToken ct)
    {
        var projections = rebuild.Resolve(request.Names);
        var claim = await rebuild.ClaimAsync(projections, ct);
        var run = new Run(new ProjectionRun(Guid.NewGuid(), request.Verify ? ProjectionRun.Verify : ProjectionRun.Rebuild, ProjectionRun.Running,
            [.. projections.Select(p => p.Name).Distinct()], clock.GetUtcNow(), null, []));
        _runs[run.Id] = run;
        foreach (var old in _runs.Values.Where(r => r.Finished).OrderByDescending(r => r.StartedAt).Skip(Kept))
            _runs.TryRemove(old.Id, out _);
        _ = Task.Run(() => ExecuteAsync(run, claim));
        return run.Now();
    }

    public ProjectionRun? Find(Guid id) => _runs.TryGetValue(id, out var run) ? run.Now() : null;

    private async Task ExecuteAsync(Run run, ProjectionClaim claim)
    {
        IReadOnlyList<DocumentsReplaced>? replaced = null;
        Verification? verification = null;
        string? error = null;
        var ct = lifetime.ApplicationStopping;
        await using (claim) // released before the run reads as finished, so its caller may start the next one at once
        {
            try
            {
                if (run.Mode == ProjectionRun.Verify)
                    verification = await rebuild.VerifyAsync(claim, run, ct);
                else
                    replaced = await rebuild.RebuildAsync(claim, run, ct);
            }
            catch (Exception e)
            {
                log.LogError(e, "The {Mode} of projections {Projections} failed", run.Mode, claim.Projections.Select(p => p.Name));
                // Only our own explanations reach the caller; anything else (SQL, the daemon's internals) stays in the log.
                error = e is RebuildAborted
                    ? e.Message
                    : ct.IsCancellationRequested ? "the control plane stopped before it finished" : $"it failed ({e.GetType().Name}); the control plane's log has the details";
            }
        }
        run.Finish(clock.GetUtcNow(), replaced, verification, error);
    }

    /// <summary>One run's state; it is also the progress sink its rebuild reports to.</summary>
    private sealed class Run(ProjectionRun start) : IProgress<ProjectionProgress>
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, ProjectionProgress> _progress = [];
        private ProjectionRun _run = start;

        public Guid Id { get; } = start.Id;
        public string Mode { get; } = start.Mode;
        public DateTimeOffset StartedAt { get; } = start.StartedAt;
        public bool Finished { get { lock (_lock) return _run.FinishedAt is not null; } }

        public void Report(ProjectionProgress value)
        {
            // The daemon's tracker publishes shard states on its own schedule: one may come after the rebuild said done.
            lock (_lock)
                if (!(_progress.TryGetValue(value.Projection, out var known) && known.Done && !value.Done))
                    _progress[value.Projection] = value;
        }

        public void Finish(DateTimeOffset at, IReadOnlyList<DocumentsReplaced>? replaced = null, Verification? verification = null, string? error = null)
        {
            lock (_lock)
                _run = _run with
                {
                    State = error is null ? ProjectionRun.Succeeded : ProjectionRun.Failed, FinishedAt = at,
                    Replaced = replaced, Verification = verification, Error = error,
                };
        }

        public ProjectionRun Now()
        {
            lock (_lock)
                return _run with { Progress = [.. _run.Projections.Where(_progress.ContainsKey).Select(p => _progress[p])] };
        }
    }
}

/// <summary>A rebuild stopped for a reason its caller can act on (the message says which, and reveals nothing internal).</summary>
public sealed class RebuildAborted(string reason) : Exception(reason);
