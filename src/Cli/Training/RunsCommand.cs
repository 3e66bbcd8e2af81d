using System.CommandLine;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Training;

/// <summary><c>emo runs list|show|cancel|reproduce</c>.</summary>
public static class RunsCommand
{
    public static Command Create() => new("runs", "Training runs") { List(), Show(), Cancel(), ReproduceCommand.Create() };

    private static Command List()
    {
        var model = new Option<string?>("--model") { Description = "Only runs of this model" };
        var status = new Option<RunStatus?>("--status") { Description = "Only runs in this status" };
        var limit = new Option<int?>("--limit") { Description = "At most this many (default 100)" };
        var command = new Command("list", "List training runs, newest first") { model, status, limit };
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var path = ApiClient.Path("/api/runs", ("model", parse.GetValue(model)), ("status", parse.GetValue(status)), ("limit", parse.GetValue(limit)));
            return ctx.ShowAsync<List<TrainingRunSummary>>(path, runs =>
            {
                var table = new Table("ID", "MODEL", "TRAINER", "STATUS", "EPOCHS", "METRICS", "REQUESTED", "BY").WideOnly("TRAINER", "EPOCHS");
                foreach (var r in runs)
                    table.Row(r.RunId, r.ModelName + (r.RegisteredVersion is { } v ? $"@{v}" : ""), r.TrainerKind,
                        r.WaitingReason is null ? r.Status : $"{r.Status} (waiting)", r.Epochs,
                        Fmt.Headline(r.Metrics), Fmt.Time(r.RequestedAt), r.RequestedBy);
                table.WriteTo(ctx.Out, "no training runs", wide: ctx.Wide);
            }, ct);
        });
        return command;
    }

    private static Command Show()
    {
        var id = new Argument<Guid>("run-id") { Description = "Run id" };
        var asOf = AsOfOption.Create();
        var follow = new Option<bool>("--follow", "-f") { Description = "Follow the run with its progress bar until it ends (as ./emo train does; Ctrl+C detaches again)" };
        var command = new Command("show", "Show one training run") { id, asOf, follow };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            if (parse.GetValue(follow))
            {
                if (parse.GetValue(asOf) is not null) throw CliError.Usage("--follow watches the run now; it does not go with --as-of");
                var now = await ctx.Api.GetAsync<TrainingRunView>($"/api/runs/{parse.GetValue(id)}", ct);
                return await TrainCommand.FollowAsync(ctx, now.RunId, now.Hyperparameters, ct);
            }
            return await ctx.ShowAsync<TrainingRunView>(ApiClient.Path($"/api/runs/{parse.GetValue(id)}", ("asOf", parse.GetValue(asOf))), r =>
            {
                var w = ctx.Out;
                w.WriteLine($"run {r.RunId}  {r.Status}");
                // A run an MLflow client started has an experiment and what it logged; no trainer, dataset or resources.
                var mlflow = r.TrainerKind == "mlflow";
                if (mlflow)
                    w.WriteLine($"  experiment   {r.ModelName} (started by an MLflow client: nothing was launched)");
                else
                {
                    w.WriteLine($"  model        {r.ModelName}{(r.RegisteredVersion is { } v ? $" (registered as version {v})" : "")}");
                    w.WriteLine($"  trainer      {r.TrainerKind}, code {r.CodeVersion}");
                    w.WriteLine($"  dataset      {r.DatasetId} (sha256 {r.DatasetSha256})");
                    w.WriteLine($"  params       {Fmt.Params(r.Hyperparameters, r.Options)}");
                    w.WriteLine($"  resources    {r.Resources.Cpus} cpu, {r.Resources.MemoryMb} MiB, {r.Resources.Gpus} gpu");
                }
                w.WriteLine($"  requested    {Fmt.Time(r.RequestedAt)} by {r.RequestedBy}");
                if (r.ReproducedFrom is { } original) w.WriteLine($"  reproduces   run {original}");
                if (r.Reproductions is { Count: > 0 } copies) w.WriteLine($"  reproduced   by run {string.Join(", run ", copies)}");
                if (r.JobName is not null) w.WriteLine($"  job          {r.JobName}");
                if (r.WaitingReason is not null) w.WriteLine($"  waiting      {r.WaitingReason}");
                if (r.StartedAt is not null) w.WriteLine($"  started      {Fmt.Time(r.StartedAt)}");
                if (r.FinishedAt is not null) w.WriteLine($"  finished     {Fmt.Time(r.FinishedAt)} ({Fmt.Seconds(r.DurationSeconds)})");
                if (!mlflow) w.WriteLine($"  epochs       {r.Epochs}");
                w.WriteLine($"  metrics      {Fmt.Numbers(mlflow ? r.MetricHistory.GroupBy(m => m.Key).ToDictionary(g => g.Key, g => g.OrderBy(m => m.Step).Last().Value) : r.Metrics)}");
                if (r.ArtifactUri is not null) w.WriteLine($"  artifact     {r.ArtifactUri} (sha256 {r.ArtifactSha256})");
                foreach (var (name, output) in r.Outputs ?? new Dictionary<string, EventMlOps.Contracts.Artifacts.ArtifactRef>())
                    w.WriteLine($"  {name,-12} {output.Uri} (sha256 {Fmt.ShortSha(output.Sha256)})");
                if (r.RegistrationBlocked is not null) w.WriteLine($"  not registered: {r.RegistrationBlocked}");
                if (RegistrationAdvice.For(r) is { } advice) w.WriteLine($"  {advice}");
                if (r.FailureReason is not null) w.WriteLine($"  reason       {r.FailureReason}");
                if (r.Params.Count > 0) w.WriteLine($"  tracked      {string.Join(" ", r.Params.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"))}");
                // Curves of the metrics logged at more than one step (single values are in the metrics line above).
                var curves = r.MetricHistory.GroupBy(m => m.Key).Where(g => g.Count() > 1).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
                if (curves.Count > 0) w.WriteLine("  curves");
                var width = curves.Count > 0 ? curves.Max(c => c.Key.Length) : 0;
                foreach (var curve in curves)
                {
                    var points = curve.OrderBy(m => m.Step).ThenBy(m => m.Timestamp).Select(m => m.Value).ToList();
                    w.WriteLine($"    {curve.Key.PadRight(width)}  {Fmt.Sparkline(points)}  {Fmt.Number(points[0])} → {Fmt.Number(points[^1])} ({points.Count} steps)");
                }
            }, ct);
        });
        return command;
    }

    private static Command Cancel()
    {
        var id = new Argument<Guid>("run-id") { Description = "Run id" };
        var reason = new Option<string>("--reason") { Description = "Why", DefaultValueFactory = _ => "cancelled from the CLI" };
        var command = new Command("cancel", "Cancel a run that has not finished") { id, reason };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var runId = parse.GetValue(id);
            var accepted = await ctx.Api.SendAsync("/api/runs/cancel", new CancelTraining(Guid.NewGuid(), runId, parse.GetValue(reason)!), ct);
            return ctx.Report(accepted, $"cancelled run {runId}");
        });
        return command;
    }
}
