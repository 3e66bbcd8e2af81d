using System.CommandLine;
using System.Diagnostics;
using EventMlOps.Agents.Hosting;
using EventMlOps.Artifacts;
using EventMlOps.Cli.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Training;

/// <summary><c>emo score &lt;model&gt;@&lt;version|alias|latest&gt; --data readings.csv [--out scores.csv]</c>: a registered anomaly
/// detector over a CSV of readings, offline. The version's model is read from the artifact store and checked against its
/// recorded sha256, then <c>emo-train anomaly score</c> scores every window into scores.csv. Exit 0 scored; 2 refused
/// (not a detector, a missing or altered artifact, bad data); otherwise the scorer's exit code.</summary>
public static class ScoreCommand
{
    public static Command Create()
    {
        var version = new Argument<string>("version") { Description = "The detector: <model>@<version>, <model>@<alias> or <model>@latest" };
        var data = new Option<FileInfo>("--data") { Description = "Readings CSV: timestamp, optional machine and label, the model's features", Required = true };
        var output = new Option<FileInfo?>("--out") { Description = "The scores.csv to write (default: scores.csv here)" };
        var command = new Command("score", "Score a CSV of sensor readings offline with a registered anomaly detector: per window its score, alarm and episode")
        {
            version, data, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var trainer = AgentSettings.Program(ctx.Configuration, "Training:Trainer", "EMO_TRAINER", "emo-train")
                          ?? throw new CliError("no scorer: set EMO_TRAINER to emo-train.dll (./emo does)");
            var v = await ModelRef.ResolveAsync(ctx.Api, parse.GetValue(version)!, ct);
            var view = await ctx.Api.GetAsync<ModelVersionView>($"/api/models/{Uri.EscapeDataString(v.Model)}/versions/{v.Version}", ct);
            if (view.TrainerKind != TrainerCatalog.Anomaly)
                throw CliError.Usage($"{v} is a {view.TrainerKind ?? "model of unknown kind"}, not an anomaly detector: emo score takes detectors");
            var (model, problem) = await StoredArtifacts.LocalizeAsync(ctx.Artifacts, view.ArtifactUri, view.ArtifactSha256, ct);
            if (model is null)
                throw CliError.Usage($"the model of {v} {problem ?? "is not a stored artifact"}");
            var scores = parse.GetValue(output)?.FullName ?? Path.GetFullPath("scores.csv");
            ctx.Out.WriteLine($"scoring with {v} (sha256 {view.ArtifactSha256[..12]}…, verified)");

            var (program, prefix) = AgentSettings.Command(trainer, AgentSettings.Dotnet());
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])[.. prefix, TrainerCatalog.Anomaly, "score", "--model", model, "--data", parse.GetValue(data)!.FullName, "--out", scores])
                start.ArgumentList.Add(arg);
            using var process = Process.Start(start) ?? throw new CliError($"could not start {program}");
            var errors = process.StandardError.ReadToEndAsync(ct);
            while (await process.StandardOutput.ReadLineAsync(ct) is { } line)
                ctx.Out.WriteLine(line);
            await process.WaitForExitAsync(ct);
            ctx.Err.Write(await errors);
            return process.ExitCode;
        });
        return command;
    }
}
