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
/// turns the trainer's <c>EMO_EPOCH</c> lines into <see cref="EpochCompleted"/>, beats every
/// <see cref="TrainingAgentOptions.HeartbeatInterval"/> while it runs, and when the job ends stores its outputs and
/// reports <see cref="TrainingSucceeded"/> or <see cref="TrainingFailed"/> — once (the <c>reported</c> marker), and nothing
/// for a cancelled run (the control plane has recorded the cancellation and refuses any later outcome).
/// Facts carry deterministic command ids, so a second report after a crash appends nothing.
/// When the agent stops, following stops and the jobs keep running; the next agent re-adopts them.
/// </summary>
public sealed class TrainingFollower(
    IWorkloadRuntime runtime,
    TrainingWorkspace workspace,
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
                    log.LogError(e, "Following training job {Job} failed (attempt {Attempt}); trying again in {Pause}", TrainingWorkspace.JobName(runId), attempt, pause);
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
        var job = TrainingWorkspace.JobName(runId);
        var bus = new MessageBus(wolverine);
        var logReader = new LogReader(workspace.Log(runId));
        var reportedEpoch = workspace.ReportedEpoch(runId);
        IReadOnlyDictionary<string, double>? result = null;
        var announced = false;
        var lastBeat = time.GetUtcNow();
        while (true)
        {
            var observed = await runtime.ObserveAsync(job, ct);
            var cancelled = workspace.Markers(runId).Cancelled;
            var finished = observed.Phase is not (JobPhase.Pending or JobPhase.Running);
            if (!cancelled && !announced && observed.Phase != JobPhase.Missing)
            {
                await bus.SendAsync(new TrainingJobSubmitted(FactIds.Submitted(runId), runId, job, runtime.Kind));
                await bus.SendAsync(new TrainingStarted(FactIds.Started(runId), runId, observed.StartedAt ?? time.GetUtcNow()));
                announced = true;
            }
            // Read after observing: once the job is seen finished, its log is complete.
            foreach (var line in logReader.ReadLines(toEnd: finished))
            {
                result = TrainerOutput.ParseResult(line) ?? result;
                if (cancelled || TrainerOutput.ParseEpoch(line) is not { } epoch || epoch.Epoch <= reportedEpoch) continue;
                await bus.SendAsync(new EpochCompleted(FactIds.Epoch(runId, epoch.Epoch), runId, epoch.Epoch, epoch.Metrics));
                workspace.RecordEpoch(runId, reportedEpoch = epoch.Epoch);
            }
            if (finished)
            {
                await ConcludeAsync(bus, runId, reason, observed, result, ct);
                return;
            }
            if (!cancelled && time.GetUtcNow() - lastBeat >= options.HeartbeatInterval)
            {
                await bus.SendAsync(new TrainingHeartbeat(Guid.NewGuid(), runId, job));
                lastBeat = time.GetUtcNow();
            }
            await Task.Delay(options.PollInterval, time, ct);
        }
    }

    private async Task ConcludeAsync(MessageBus bus, Guid runId, FollowReason reason, JobObservation observed,
        IReadOnlyDictionary<string, double>? result, CancellationToken ct)
    {
        if (workspace.Markers(runId).Cancelled)
        {
            workspace.MarkReported(runId, "cancelled: nothing reported");
            log.LogInformation("Training job {Job} of cancelled run {RunId} ended ({Phase}, exit code {ExitCode}); nothing to report",
                observed.Name, runId, observed.Phase, observed.ExitCode);
            return;
        }
        object outcome = observed.Phase == JobPhase.Succeeded
            ? await SucceededAsync(runId, observed, result, ct)
            : Failed(runId, observed, reason);
        // A StopTraining may have arrived while the outputs were being stored.
        if (workspace.Markers(runId).Cancelled)
        {
            workspace.MarkReported(runId, "cancelled: nothing reported");
            return;
        }
        await bus.SendAsync(outcome);
        workspace.MarkReported(runId, outcome.GetType().Name);
        log.LogInformation("Training job {Job} ended ({Phase}, exit code {ExitCode}); reported {Outcome}",
            observed.Name, observed.Phase, observed.ExitCode, outcome.GetType().Name);
    }

    /// <summary>The model and the other outputs go into the artifact store (content-addressed); a trainer that exited 0
    /// without a model or with unreadable metrics did not succeed.</summary>
    private async Task<object> SucceededAsync(Guid runId, JobObservation observed, IReadOnlyDictionary<string, double>? result, CancellationToken ct)
    {
        var output = workspace.Output(runId);
        var model = Path.Combine(output, TrainerOutput.Model);
        if (!File.Exists(model))
            return Failure(runId, $"the trainer exited with code 0 but wrote no {TrainerOutput.Model} to {output}", 0, observed.LogTail);
        IReadOnlyDictionary<string, double> metrics;
        try
        {
            var file = Path.Combine(output, TrainerOutput.MetricsFile);
            metrics = File.Exists(file) ? TrainerOutput.ReadMetricsFile(file) : result ?? new Dictionary<string, double>();
        }
        catch (InvalidDataException e)
        {
            return Failure(runId, $"the trainer exited with code 0 but its metrics are unreadable: {e.Message}", 0, observed.LogTail);
        }
        var artifact = await store.PutAsync(model, ct);
        var outputs = new Dictionary<string, ArtifactRef>();
        foreach (var (name, file) in TrainerOutput.Outputs)
            if (File.Exists(Path.Combine(output, file)))
                outputs[name] = await store.PutAsync(Path.Combine(output, file), ct);
        if (File.Exists(workspace.Log(runId)))
            outputs["log"] = await store.PutAsync(workspace.Log(runId), ct);
        return new TrainingSucceeded(FactIds.Outcome(runId), runId, artifact.Uri, artifact.Sha256, metrics, outputs);
    }

    private TrainingFailed Failed(Guid runId, JobObservation observed, FollowReason reason) => observed switch
    {
        { Phase: JobPhase.Missing } => Failure(runId, $"the training job {observed.Name} no longer exists in the {runtime.Kind} runtime", null, null),
        { ExitCode: { } code } => Failure(runId, $"the trainer exited with code {code} ({Meaning(code)})", code, observed.LogTail),
        _ when reason == FollowReason.Resumed => Failure(runId, "agent restarted and the training process is gone", null, observed.LogTail),
        _ => Failure(runId, $"the training process is gone without an exit code: {observed.Message}", null, observed.LogTail),
    };

    private static TrainingFailed Failure(Guid runId, string what, int? exitCode, IReadOnlyList<string>? tail)
    {
        var reason = tail is { Count: > 0 }
            ? what + "; last log lines:\n" + string.Join('\n', tail.Select(l => l.Length > MaxLineLength ? l[..MaxLineLength] + "…" : l))
            : what;
        return new TrainingFailed(FactIds.Outcome(runId), runId, reason.Length > MaxReasonLength ? reason[..MaxReasonLength] + "…" : reason, exitCode);
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
