using System.Collections.Concurrent;
using EventMlOps.Agents.Runtime;
using EventMlOps.Artifacts;
using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Runtime;

namespace EventMlOps.Agents.Training;

/// <summary>Why a job is followed: this agent just submitted it, or it found it already there (a redelivered work
/// order, or re-adoption after a restart) — then a vanished process means the agent lost track of it.</summary>
public enum FollowReason { Submitted, Resumed }

/// <summary>
/// Follows each training job from submission to its reported outcome, one task per run: reports submitted and started,
/// turns the trainer's <c>EMO_EPOCH</c> lines into <see cref="EpochReport"/>, beats every
/// <see cref="TrainingAgentOptions.HeartbeatInterval"/> while it runs, reports why it makes no progress when its runtime says
/// so and when that changes (<see cref="JobWaitingReport"/>), and when the job ends adopts the outputs the trainer
/// published (<c>EMO_OUTPUT</c>: each accepted only if its content has the claimed sha256), stores the job's log, and
/// reports <see cref="TrainingSucceededReport"/> or <see cref="TrainingFailedReport"/> — once (the job's <c>reported</c> label), and
/// nothing for a cancelled run (the control plane has recorded the cancellation and refuses any later outcome). The log
/// is read through the runtime: nothing here touches the job's disk.
/// Facts carry deterministic command ids, so a second report after a crash appends nothing (beats and waiting reasons
/// need none: a repeat changes nothing).
/// When the agent stops, following stops and the jobs keep running; the next agent re-adopts them.
/// </summary>
public sealed class TrainingFollower(
    IWorkloadRuntime runtime,
    IArtifactStore store,
    TrainingAgentOptions options,
    IWolverineRuntime wolverine,
    TimeProvider time,
    ILogger<TrainingFollower> log) : IHostedService
{
    private const int MaxLineLength = 500;
    private const int MaxReasonLength = 8000;

    private readonly ConcurrentDictionary<Guid, Task> _following = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Starts following the run's job unless it is already followed; returns whether it started.</summary>
    public bool Follow(Guid runId, FollowReason reason)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_following)
        {
            if (_stopping.IsCancellationRequested || _following.ContainsKey(runId)) return false;
            _following[runId] = SuperviseAsync(runId, reason, go.Task, _stopping.Token);
        }
        go.SetResult();
        return true;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task[] running;
        lock (_following)
        {
            _stopping.Cancel();
            running = [.. _following.Values];
        }
        await Task.WhenAll(running).WaitAsync(cancellationToken);
    }

    /// <summary>Follows until reported; an unexpected error (artifact store down, disk full) is logged and the run is
    /// followed again after a pause — following is idempotent.</summary>
    private async Task SuperviseAsync(Guid runId, FollowReason reason, Task go, CancellationToken ct)
    {
        await go;
        try
        {
            for (var attempt = 1; !ct.IsCancellationRequested; attempt++)
            {
                try
                {
                    await FollowAsync(runId, reason, ct);
                    return;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    var pause = TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, attempt)));
                    log.LogError(e, "Following training job {Job} failed (attempt {Attempt}); trying again in {Pause}", TrainingRuns.JobName(runId), attempt, pause);
                    try { await Task.Delay(pause, time, ct); }
                    catch (OperationCanceledException) { return; }
                }
            }
        }
        finally
        {
            _following.TryRemove(runId, out _);
        }
    }

    private async Task FollowAsync(Guid runId, FollowReason reason, CancellationToken ct)
    {
        var job = TrainingRuns.JobName(runId);
        var bus = new MessageBus(wolverine);
        var logReader = new LogReader(runtime, job);
        var reportedEpoch = -1;
        IReadOnlyDictionary<string, double>? result = null;
        var published = new Dictionary<string, PublishedOutput>();
        var announced = false;
        // A job this agent just submitted has no waiting reason on record; a resumed one may have.
        JobWaiting? reportedWaiting = reason == FollowReason.Submitted ? new(null) : null;
        var lastBeat = time.GetUtcNow();
        while (true)
        {
            var observed = await runtime.ObserveAsync(job, ct);
            if (reportedEpoch < 0) reportedEpoch = TrainingRuns.ReportedEpoch(observed);
            var cancelled = TrainingRuns.Markers(observed).Cancelled;
            var finished = observed.Phase is not (JobPhase.Pending or JobPhase.Running);
            if (!cancelled && !announced && observed.Phase != JobPhase.Missing)
            {
                await bus.SendAsync(new JobSubmittedReport(FactIds.Submitted(runId), runId, job, runtime.Kind));
                await bus.SendAsync(new TrainingStartedReport(FactIds.Started(runId), runId, observed.StartedAt ?? time.GetUtcNow()));
                announced = true;
            }
            // Read after observing: once the job is seen finished, its log is complete.
            foreach (var line in await logReader.ReadLinesAsync(toEnd: finished, ct))
            {
                result = TrainerOutput.ParseResult(line) ?? result;
                if (TrainerOutput.ParseOutput(line) is { } output) published[output.Name] = output;
                if (cancelled || TrainerOutput.ParseEpoch(line) is not { } epoch || epoch.Epoch <= reportedEpoch) continue;
                await bus.SendAsync(new EpochReport(FactIds.Epoch(runId, epoch.Epoch), runId, epoch.Epoch, epoch.Metrics));
                await TrainingRuns.RecordEpochAsync(runtime, runId, reportedEpoch = epoch.Epoch, ct);
            }
            if (finished)
            {
                await ConcludeAsync(bus, runId, reason, observed, result, published, ct);
                return;
            }
            if (!cancelled && TrainingPlan.Waiting(reportedWaiting, observed) is { } waiting)
            {
                // A fresh id: the same reason may come back after it cleared; the control plane records only a change.
                await bus.SendAsync(new JobWaitingReport(Guid.NewGuid(), runId, waiting.Reason));
                reportedWaiting = waiting;
            }
            if (!cancelled && time.GetUtcNow() - lastBeat >= options.HeartbeatInterval)
            {
                await bus.SendAsync(new HeartbeatReport(Guid.NewGuid(), runId, job));
                lastBeat = time.GetUtcNow();
            }
            await Task.Delay(options.PollInterval, time, ct);
        }
    }

    private async Task ConcludeAsync(MessageBus bus, Guid runId, FollowReason reason, JobObservation observed,
        IReadOnlyDictionary<string, double>? result, IReadOnlyDictionary<string, PublishedOutput> published, CancellationToken ct)
    {
        if (TrainingRuns.Markers(observed).Cancelled)
        {
            await TrainingRuns.MarkReportedAsync(runtime, runId, "cancelled", ct);
            log.LogInformation("Training job {Job} of cancelled run {RunId} ended ({Phase}, exit code {ExitCode}); nothing to report",
                observed.Name, runId, observed.Phase, observed.ExitCode);
            return;
        }
        object outcome = observed.Phase == JobPhase.Succeeded
            ? await SucceededAsync(runId, observed, result, published, ct)
            : Failed(runId, observed, reason);
        // A StopTraining may have arrived while the outputs were being stored.
        if (TrainingRuns.Markers(await runtime.ObserveAsync(observed.Name, ct)).Cancelled)
        {
            await TrainingRuns.MarkReportedAsync(runtime, runId, "cancelled", ct);
            return;
        }
        await bus.SendAsync(outcome);
        await TrainingRuns.MarkReportedAsync(runtime, runId, outcome.GetType().Name, ct);
        log.LogInformation("Training job {Job} ended ({Phase}, exit code {ExitCode}); reported {Outcome}",
            observed.Name, observed.Phase, observed.ExitCode, outcome.GetType().Name);
    }

    /// <summary>The outputs the trainer published are adopted into the artifact store (content-addressed: a claim whose
    /// content differs is refused), the job's log stored beside them; a trainer that exited 0 without a model, with an
    /// output that does not hold, or with unreadable metrics did not succeed.</summary>
    private async Task<object> SucceededAsync(Guid runId, JobObservation observed, IReadOnlyDictionary<string, double>? result,
        IReadOnlyDictionary<string, PublishedOutput> published, CancellationToken ct)
    {
        if (!published.ContainsKey(TrainerProtocol.Model))
            return Failure(runId, $"the trainer exited with code 0 but published no {TrainerProtocol.Model} (no {TrainerProtocol.OutputPrefix.Trim()} line)", 0, observed.LogTail);
        var outputs = new Dictionary<string, ArtifactRef>();
        IReadOnlyDictionary<string, double> metrics;
        try
        {
            // Only what the job published in its own folder, or what the store holds under that content address.
            foreach (var (name, output) in published)
                outputs[name] = await store.AdoptAsync(output.Uri, output.Sha256, runtime.LocalFolder(observed.Name), ct);
            metrics = outputs.TryGetValue(TrainerProtocol.Metrics, out var file)
                ? TrainerOutput.ReadMetricsFile(await store.LocalizeAsync(file.Uri, file.Sha256, ct))
                : result ?? new Dictionary<string, double>();
        }
        catch (Exception e) when (e is DataAccessRefused or ArtifactIntegrityException or FileNotFoundException or InvalidDataException or ArgumentException)
        {
            return Failure(runId, $"the trainer exited with code 0 but its outputs do not hold: {e.Message}", 0, observed.LogTail);
        }
        if (await StoreLogAsync(observed.Name, ct) is { } log) outputs["log"] = log;
        var model = outputs[TrainerProtocol.Model];
        outputs.Remove(TrainerProtocol.Model);
        return new TrainingSucceededReport(FactIds.Outcome(runId), runId, model.Uri, model.Sha256, metrics, outputs);
    }

    /// <summary>The job's whole log, read through the runtime, into the artifact store.</summary>
    private async Task<ArtifactRef?> StoreLogAsync(string job, CancellationToken ct)
    {
        var temp = Path.Combine(Path.GetTempPath(), $"emo-{job}-{Guid.NewGuid():N}.log");
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                // Until its end, or until it was cut shorter than what was read (a chunk from its start again).
                for (var (offset, chunk) = (0L, await runtime.ReadLogAsync(job, 0, 1 << 20, ct));
                     chunk.Bytes.Length > 0 && chunk.Offset > offset;
                     offset = chunk.Offset, chunk = await runtime.ReadLogAsync(job, offset, 1 << 20, ct))
                    await file.WriteAsync(chunk.Bytes, ct);
            return new FileInfo(temp).Length > 0 ? await store.PutAsync(temp, ct) : null;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private TrainingFailedReport Failed(Guid runId, JobObservation observed, FollowReason reason) => observed switch
    {
        { Phase: JobPhase.Missing } => Failure(runId, $"the training job {observed.Name} no longer exists in the {runtime.Kind} runtime", null, null),
        { ExitCode: { } code } => Failure(runId, $"the trainer exited with code {code} ({Meaning(code)})", code, observed.LogTail),
        _ when reason == FollowReason.Resumed => Failure(runId, "agent restarted and the training process is gone", null, observed.LogTail),
        _ => Failure(runId, $"the training process is gone without an exit code: {observed.Message}", null, observed.LogTail),
    };

    private static TrainingFailedReport Failure(Guid runId, string what, int? exitCode, IReadOnlyList<string>? tail)
    {
        var reason = tail is { Count: > 0 }
            ? what + "; last log lines:\n" + string.Join('\n', tail.Select(l => l.Length > MaxLineLength ? l[..MaxLineLength] + "…" : l))
            : what;
        return new TrainingFailedReport(FactIds.Outcome(runId), runId, reason.Length > MaxReasonLength ? reason[..MaxReasonLength] + "…" : reason, exitCode);
    }

    /// <summary>The trainer's exit codes (2 bad input, 1 failure) and the shell's (126/127, 128 + signal).</summary>
    internal static string Meaning(int code) => code switch
    {
        1 => "training failed",
        2 => "bad input",
        126 => "the trainer is not executable",
        127 => "the trainer was not found",
        137 => "killed by SIGKILL, e.g. out of memory",
        143 => "terminated by SIGTERM",
        > 128 and < 160 => $"killed by signal {code - 128}",
        _ => "failed",
    };
}
