using System.Globalization;
using EventMlOps.Agents.Runtime;

namespace EventMlOps.Agents.Training;

/// <summary>What the training agent remembers of a run lives on its job, in labels the runtime keeps — the outcome
/// reported (never again), the last epoch reported (a re-adopted run does not resend its history) — and in the job's
/// cancelled state (kept by the runtime even for a job cancelled before it was submitted), so that an agent restarted
/// on this machine or another loses nothing.</summary>
public static class TrainingRuns
{
    public const string RunIdLabel = "eventmlops.io/run-id";
    private const string ReportedLabel = "eventmlops.io/reported", EpochLabel = "eventmlops.io/epoch";

    /// <summary>The deterministic job name of a run: the same on every agent, retry and restart.</summary>
    public static string JobName(Guid runId) => $"train-{runId:N}";

    public static Guid? RunIdOf(JobObservation job) =>
        job.Labels?.GetValueOrDefault(RunIdLabel) is { } id && Guid.TryParseExact(id, "N", out var runId) ? runId : null;

    public static RunMarkers Markers(JobObservation job) => new(job.Labels?.ContainsKey(ReportedLabel) == true, job.Cancelled);

    public static int ReportedEpoch(JobObservation job) =>
        int.TryParse(job.Labels?.GetValueOrDefault(EpochLabel), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch) ? epoch : 0;

    public static Task RecordEpochAsync(IWorkloadRuntime runtime, Guid runId, int epoch, CancellationToken ct) =>
        runtime.LabelAsync(JobName(runId), new Dictionary<string, string> { [EpochLabel] = epoch.ToString(CultureInfo.InvariantCulture) }, ct);

    public static Task MarkReportedAsync(IWorkloadRuntime runtime, Guid runId, string outcome, CancellationToken ct) =>
        runtime.LabelAsync(JobName(runId), new Dictionary<string, string> { [ReportedLabel] = outcome }, ct);
}

public sealed record RunMarkers(bool Reported, bool Cancelled);
