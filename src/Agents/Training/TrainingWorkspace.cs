using System.Globalization;
using EventMlOps.Agents.Runtime;

namespace EventMlOps.Agents.Training;

/// <summary>What the training agent knows about a run, beside the job itself (which the runtime keeps):
/// <c>{Root}/train-{runId:N}/</c> holds the trainer's <c>out/</c> folder, its <c>train.log</c>, and small markers —
/// <c>cancelled</c> (a StopTraining arrived: report nothing more), <c>reported</c> (the outcome was sent: never again)
/// and <c>epoch</c> (the last epoch reported, so a re-adopted run does not resend its whole history).</summary>
public sealed class TrainingWorkspace(string root)
{
    public const string RunIdLabel = "eventmlops.io/run-id";
    private const string ReportedFile = "reported";
    private const string CancelledFile = "cancelled";
    private const string EpochFile = "epoch";

    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The deterministic job name of a run: the same on every agent, retry and restart.</summary>
    public static string JobName(Guid runId) => $"train-{runId:N}";

    public static Guid? RunIdOf(JobObservation job) =>
        job.Labels?.GetValueOrDefault(RunIdLabel) is { } id && Guid.TryParseExact(id, "N", out var runId) ? runId : null;

    public string Folder(Guid runId) => Path.Combine(Root, JobName(runId));

    public string Output(Guid runId) => Path.Combine(Folder(runId), "out");

    public string Log(Guid runId) => Path.Combine(Folder(runId), "train.log");

    public RunMarkers Markers(Guid runId) =>
        new(File.Exists(Marker(runId, ReportedFile)), File.Exists(Marker(runId, CancelledFile)));

    public void MarkCancelled(Guid runId, string reason) => Write(runId, CancelledFile, reason);

    public void MarkReported(Guid runId, string outcome) => Write(runId, ReportedFile, outcome);

    public int ReportedEpoch(Guid runId) =>
        File.Exists(Marker(runId, EpochFile)) && int.TryParse(File.ReadAllText(Marker(runId, EpochFile)), NumberStyles.None, CultureInfo.InvariantCulture, out var e) ? e : 0;

    public void RecordEpoch(Guid runId, int epoch) => Write(runId, EpochFile, epoch.ToString(CultureInfo.InvariantCulture));

    private string Marker(Guid runId, string name) => Path.Combine(Folder(runId), name);

    private void Write(Guid runId, string name, string content)
    {
        Directory.CreateDirectory(Folder(runId));
        var temp = Marker(runId, $"{name}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(temp, content);
        File.Move(temp, Marker(runId, name), overwrite: true);
    }
}

public sealed record RunMarkers(bool Reported, bool Cancelled);
