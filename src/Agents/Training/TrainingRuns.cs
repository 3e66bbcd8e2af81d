using System.Collections.Concurrent;
using System.Globalization;
using EventMlOps.Agents.Runtime;

namespace EventMlOps.Agents.Training;

/// <summary>What the training agent remembers of a run lives on its job, in labels the runtime keeps — the outcome
/// reported (never again), the last epoch reported (a re-adopted run does not resend its history) — and in the job's
/// cancelled state, so that an agent restarted on this machine or another loses nothing. Only a cancellation that came
/// before the run's job exists is held here (the control plane sends no work order for a cancelled run again).</summary>
public sealed class TrainingRuns
{
    public const string RunIdLabel = "eventmlops.io/run-id";
    private const string ReportedLabel = "eventmlops.io/reported", EpochLabel = "eventmlops.io/epoch";

    private readonly ConcurrentDictionary<Guid, bool> _cancelled = new();

    /// <summary>The deterministic job name of a run: the same on every agent, retry and restart.</summary>
    public static string JobName(Guid runId) => $"train-{runId:N}";

    public static Guid? RunIdOf(JobObservation job) =>
        job.Labels?.GetValueOrDefault(RunIdLabel) is { } id && Guid.TryParseExact(id, "N", out var runId) ? runId : null;

    public RunMarkers Markers(Guid runId, JobObservation job) =>
        new(job.Labels?.ContainsKey(ReportedLabel) == true, job.Cancelled || _cancelled.ContainsKey(runId));

    /// <summary>A StopTraining arrived: whatever the job does from now on is not reported.</summary>
    public void Cancel(Guid runId) => _cancelled[runId] = true;

    public static int ReportedEpoch(JobObservation job) =>
        int.TryParse(job.Labels?.GetValueOrDefault(EpochLabel), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch) ? epoch : 0;

    public static Task RecordEpochAsync(IWorkloadRuntime runtime, Guid runId, int epoch, CancellationToken ct) =>
        runtime.LabelAsync(JobName(runId), new Dictionary<string, string> { [EpochLabel] = epoch.ToString(CultureInfo.InvariantCulture) }, ct);

    public static Task MarkReportedAsync(IWorkloadRuntime runtime, Guid runId, string outcome, CancellationToken ct) =>
        runtime.LabelAsync(JobName(runId), new Dictionary<string, string> { [ReportedLabel] = outcome }, ct);
}

public sealed record RunMarkers(bool Reported, bool Cancelled);
