using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EventMlOps.Artifacts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Training;

/// <summary><c>emo runs reproduce &lt;run-id&gt;</c>: checks that the run's dataset is still in the artifact store with its sha256,
/// asks the control plane for a new run with the run's inputs and seed, follows it, and compares every metric of the two
/// against a relative tolerance. Exit 0 reproduced; 1 a metric differs beyond the tolerance or the reproduction did not
/// succeed; 2 refused (unknown or unfinished run, no seed, a missing or altered dataset).</summary>
public static class ReproduceCommand
{
    public static Command Create()
    {
        var id = new Argument<Guid>("run-id") { Description = "The succeeded run to reproduce" };
        var tolerance = new Option<double?>("--tolerance")
        {
            Description = $"Largest relative difference a metric may show (default {Fmt.Number(MetricComparison.CpuTolerance)} for a CPU run, "
                          + $"{Fmt.Number(MetricComparison.GpuTolerance)} for a GPU run)",
        };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the new run is requested instead of following and comparing it" };
        var command = new Command("reproduce", "Train a succeeded run again on the same data, code, hyperparameters and seed, and compare the metrics")
        {
            id, tolerance, noWait,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var originalId = parse.GetValue(id);
            if (parse.GetValue(tolerance) is < 0 or double.NaN) throw CliError.Usage("--tolerance must be a number ≥ 0");
            var original = await ctx.Api.GetAsync<TrainingRunView>($"/api/runs/{originalId}", ct);
            // An unfinished run is refused by the control plane: its data need not be read first.
            if (original.Status == RunStatus.Succeeded)
            {
                var verified = await VerifyDatasetAsync(ctx, original, ct);
                if (!ctx.Json) ctx.Out.WriteLine(verified);
            }

            var request = new ReproduceRun(Guid.NewGuid(), Guid.NewGuid(), originalId);
            var accepted = await ctx.Api.SendAsync("/api/runs/reproduce", request, ct);
            if (parse.GetValue(noWait))
                return ctx.Report(accepted, $"requested run {request.RunId} reproducing run {originalId}; follow it with ./emo runs show {request.RunId}");
            var gpu = original.Resources.Gpus > 0;
            var allowed = parse.GetValue(tolerance) ?? (gpu ? MetricComparison.GpuTolerance : MetricComparison.CpuTolerance);
            if (!ctx.Json)
            {
                ctx.Out.WriteLine($"requested run {request.RunId} reproducing run {originalId} ({original.TrainerKind} → {original.ModelName}, code {original.CodeVersion})");
                if (gpu)
                    ctx.Out.WriteLine($"run {originalId} trained on {original.Resources.Gpus} GPU(s): bit-exactness is not expected there (CUDA kernels add in "
                                      + $"varying order), so metrics are compared within {Fmt.Number(allowed)} relative");
            }
            if (await TrainCommand.WatchAsync(ctx, request.RunId, original.Hyperparameters, ct) is not { } reproduction)
                return 130;
            return Report(ctx, original, reproduction, allowed, gpu);
        });
        return command;
    }

    /// <summary>The run's dataset must still be what it trained on: a stored dataset is read back through the artifact store the
    /// agents read (verified against the run's sha256); a generated one is its spec, kept in the history itself. Answers what
    /// was found.</summary>
    private static async Task<string> VerifyDatasetAsync(CliContext ctx, TrainingRunView run, CancellationToken ct)
    {
        var dataset = await ctx.Api.GetAsync<DatasetView>($"/api/datasets/{run.DatasetId}", ct);
        if (StoredArtifacts.IsGenerated(dataset.Uri))
            return $"dataset {dataset.Name} is generated from its spec {Contracts.Artifacts.DataUris.Echo(dataset.Uri)}: nothing to fetch";
        var problem = await StoredArtifacts.ProblemAsync(ctx.Artifacts, dataset.Uri, run.DatasetSha256, ct);
        if (problem is not null)
            throw new CliError($"cannot reproduce run {run.RunId}: its dataset {dataset.Name} ({dataset.DatasetId}) at {Contracts.Artifacts.DataUris.Echo(dataset.Uri)} {problem}", 2);
        return $"dataset {dataset.Name} verified: the artifact store holds it with sha256 {run.DatasetSha256}";
    }

    private static int Report(CliContext ctx, TrainingRunView original, TrainingRunView reproduction, double tolerance, bool gpu)
    {
        var succeeded = reproduction.Status == RunStatus.Succeeded;
        var metrics = succeeded ? MetricComparison.Compare(original.Metrics ?? new Dictionary<string, double>(), reproduction.Metrics ?? new Dictionary<string, double>(), tolerance) : [];
        var beyond = metrics.Where(m => !m.Within).Select(m => m.Metric).ToList();
        var reproduced = succeeded && beyond.Count == 0;
        var sameModel = succeeded && reproduction.ArtifactSha256 == original.ArtifactSha256;
        if (ctx.Json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(new
            {
                originalRunId = original.RunId, runId = reproduction.RunId, status = reproduction.Status.ToString(), reproduced, tolerance, gpu,
                identicalModel = sameModel, originalArtifactSha256 = original.ArtifactSha256, artifactSha256 = reproduction.ArtifactSha256,
                reason = reproduction.FailureReason, metrics,
            }, new JsonSerializerOptions(ApiClient.Json) { WriteIndented = true }));
            return reproduced ? 0 : 1;
        }
        var w = ctx.Out;
        if (!succeeded)
        {
            w.WriteLine($"NOT reproduced: run {reproduction.RunId} {reproduction.Status.ToString().ToLowerInvariant()}: {reproduction.FailureReason}");
            return 1;
        }
        w.WriteLine($"run {reproduction.RunId} succeeded in {Fmt.Seconds(reproduction.DurationSeconds)}; its metrics against run {original.RunId}'s:");
        var table = new Table("METRIC", "ORIGINAL", "REPRODUCTION", "ABS DIFF", "REL DIFF", $"WITHIN {Exact(tolerance)}");
        foreach (var m in metrics)
            table.Row(m.Metric, Exact(m.Original), Exact(m.Reproduction), Exact(m.Absolute), Exact(m.Relative),
                !m.Judged ? "(wall clock, not judged)" : m.Within ? "yes" : "NO");
        table.WriteTo(w, indent: "  ");
        w.WriteLine(sameModel
            ? $"  model        identical bytes (sha256 {reproduction.ArtifactSha256})"
            : $"  model        different bytes (sha256 {Fmt.ShortSha(original.ArtifactSha256)} → {Fmt.ShortSha(reproduction.ArtifactSha256)}){(gpu ? ", as a GPU may give" : "")}");
        var judged = metrics.Count(m => m.Judged);
        w.WriteLine(reproduced
            ? $"reproduced: all {judged} metrics within {Exact(tolerance)} relative"
            : $"NOT reproduced: {beyond.Count} of {judged} metrics beyond {Exact(tolerance)} relative or missing: {string.Join(", ", beyond)}");
        return reproduced ? 0 : 1;
    }

    /// <summary>The value as the trainer reported it (7 significant digits), never rounded away: 1e-7 apart is not equal.</summary>
    private static string Exact(double? value) => value?.ToString("G7", CultureInfo.InvariantCulture).ToLowerInvariant() ?? "-";
}
