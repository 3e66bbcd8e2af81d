using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventMlOps.Cli.Datasets;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Training;

/// <summary><c>emo train &lt;recommender|anomaly&gt;</c>: registers the data (a local file by its sha256, or a generator
/// spec), requests a run, and follows it — epoch, loss, ETA — until it ends, then prints the final metrics and the
/// version the registration policy gave it. <c>--detach</c> returns right after the request.</summary>
public static class TrainCommand
{
    public static readonly string[] Trainers = ["recommender", "anomaly"];

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var trainer = new Argument<string>("trainer") { Description = "Trainer kind" };
        trainer.AcceptOnlyFromAmong(Trainers);
        var model = new Option<string?>("--model") { Description = "Model name the run trains (default: the trainer kind)" };
        var data = new Option<FileInfo?>("--data") { Description = "Train on this local file (MovieLens u.data/ratings.dat, or a sensor CSV); registered by its sha256" };
        var generate = new Option<string?>("--generate")
        {
            Description = "Let the trainer generate data, optionally sized: --generate users=600,items=400,interactions=20000",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var dataset = new Option<Guid?>("--dataset") { Description = "Train on an already registered dataset (id from `emo datasets list`)" };
        var epochs = new Option<int?>("--epochs") { Description = "Training epochs (default: the trainer's)" };
        var seed = new Option<int?>("--seed") { Description = "Random seed (runs with the same seed and data are identical)" };
        var param = new Option<string[]>("--param") { Description = "Other hyperparameter name=value (repeatable): a number (lr=0.001), or text for a trainer's list, name or duration options (hidden=256,64,8, features=temperature,vibration, normalisation=window)", Arity = ArgumentArity.ZeroOrMore };
        var gpus = new Option<int>("--gpu", "--gpus") { Description = "GPUs to request (0: CPU)", DefaultValueFactory = _ => 0 };
        var cpus = new Option<int>("--cpus") { Description = "CPUs to request", DefaultValueFactory = _ => 1 };
        var memory = new Option<int>("--memory-mb") { Description = "Memory to request (MiB)", DefaultValueFactory = _ => 2048 };
        var code = new Option<string>("--code-version") { Description = "Code version or image the trainer runs", DefaultValueFactory = _ => "dev" };
        var detach = new Option<bool>("--detach") { Description = "Return once the run is requested instead of following it" };
        var command = new Command("train", "Train a model: request a run and follow it to its end")
        {
            trainer, model, data, generate, dataset, epochs, seed, param, gpus, cpus, memory, code, detach,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var kind = parse.GetValue(trainer)!;
            var (numbers, options) = Parameters(kind, parse.GetValue(param) ?? []);
            var hyperparameters = new Dictionary<string, double>(numbers);
            if (parse.GetValue(epochs) is { } e) hyperparameters["epochs"] = e;
            if (parse.GetValue(seed) is { } s) hyperparameters["seed"] = s;
            var sources = (parse.GetValue(data) is not null ? 1 : 0) + (parse.GetResult(generate) is not null ? 1 : 0) + (parse.GetValue(dataset) is not null ? 1 : 0);
            if (sources > 1) throw CliError.Usage("give one of --data, --generate or --dataset");
            var datasetId = parse.GetValue(dataset)
                ?? await RegisterDataAsync(ctx, kind, parse.GetValue(data), parse.GetValue(generate), parse.GetValue(seed), ct);

            var request = new RequestTraining(Guid.NewGuid(), Guid.NewGuid(), parse.GetValue(model) ?? kind, kind, datasetId, hyperparameters,
                new TrainingResources(parse.GetValue(cpus), parse.GetValue(memory), parse.GetValue(gpus)), parse.GetValue(code)!,
                options.Count > 0 ? options : null);
            var accepted = await ctx.Api.SendAsync("/api/runs", request, ct);
            if (parse.GetValue(detach))
                return ctx.Report(accepted, $"requested run {request.RunId} ({request.TrainerKind} → {request.ModelName}); follow it with ./emo runs show {request.RunId}");
            if (!ctx.Json) ctx.Out.WriteLine($"requested run {request.RunId} ({kind} → {request.ModelName})");
            return await FollowAsync(ctx, request.RunId, request.Hyperparameters, ct);
        });
        return command;
    }

    /// <summary>A local file is registered by its content; a generator spec by the sha256 of its canonical URI, so the
    /// same spec is the same dataset for lineage and impact.</summary>
    private static async Task<Guid> RegisterDataAsync(CliContext ctx, string kind, FileInfo? file, string? spec, int? seed, CancellationToken ct)
    {
        if (file is not null)
        {
            var (registered, accepted) = await DatasetsCommand.RegisterAsync(ctx, file.FullName,
                $"{kind}-{Path.GetFileNameWithoutExtension(file.Name).ToLowerInvariant()}", null, null, null, ct);
            var dataset = DatasetsCommand.DatasetOf(accepted);
            if (!ctx.Json) ctx.Out.WriteLine($"registered {file.Name} as dataset {dataset} (sha256 {Fmt.ShortSha(registered.Sha256)})");
            return dataset;
        }
        var uri = GeneratorUri(kind, spec, seed);
        var (id, isNew) = await RegisterGeneratorAsync(ctx.Api, kind, uri, ct);
        if (isNew && !ctx.Json) ctx.Out.WriteLine($"registered generator {uri} as dataset {id}");
        return id;
    }

    /// <summary>The dataset of a generator spec: the control plane answers with the one registered before under the
    /// same digest (identity by content), or registers this one.</summary>
    public static async Task<(Guid Id, bool Registered)> RegisterGeneratorAsync(ApiClient api, string kind, string uri, CancellationToken ct)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(uri)));
        var command = new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), $"generated-{kind}", uri, sha, "generated", 0, []);
        var accepted = await api.SendAsync("/api/datasets", command, ct);
        return (DatasetsCommand.DatasetOf(accepted), accepted.Appended > 0);
    }

    /// <summary><c>generate://recommender?interactions=20000&amp;seed=42</c>: options sorted, so equal specs are equal strings.</summary>
    public static string GeneratorUri(string kind, string? spec, int? seed)
    {
        var options = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["seed"] = (seed ?? 42).ToString(CultureInfo.InvariantCulture) };
        foreach (var pair in (spec ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = pair.IndexOf('=');
            if (at < 1 || !long.TryParse(pair[(at + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 1)
                throw CliError.Usage($"--generate '{pair}' is not name=positive-integer (e.g. users=600)");
            options[pair[..at]] = value.ToString(CultureInfo.InvariantCulture);
        }
        return $"generate://{kind}?{string.Join('&', options.Select(o => $"{o.Key}={o.Value}"))}";
    }

    /// <summary>Polls the run until it ends and, when it succeeded, until the registration policy has spoken
    /// (registered or blocked it; a few seconds at most). <paramref name="progress"/> sees every poll, the end included
    /// (the last epochs and the outcome may arrive between two polls: the bar still completes).</summary>
    public static async Task<TrainingRunView> WaitForOutcomeAsync(ApiClient api, Guid runId, Action<TrainingRunView> progress, CancellationToken ct)
    {
        var path = $"/api/runs/{runId}";
        TrainingRunView run;
        while (!(run = await api.GetAsync<TrainingRunView>(path, ct)).IsFinished)
        {
            progress(run);
            await Task.Delay(Poll, ct);
        }
        progress(run);
        for (var until = DateTime.UtcNow.AddSeconds(10);
             run is { Status: RunStatus.Succeeded, RegisteredVersion: null, RegistrationBlocked: null } && DateTime.UtcNow < until;)
        {
            await Task.Delay(Poll, ct);
            run = await api.GetAsync<TrainingRunView>(path, ct);
        }
        return run;
    }

    /// <summary>Follows a run with the progress bar to its outcome, then summarises it (or prints its JSON): `train`, and
    /// `runs show --follow` re-attaching. Exit 0 when it succeeded, 1 when it failed or was cancelled, 130 when detached.</summary>
    public static async Task<int> FollowAsync(CliContext ctx, Guid runId, IReadOnlyDictionary<string, double> hyperparameters, CancellationToken ct)
    {
        if (await WatchAsync(ctx, runId, hyperparameters, ct) is not { } run)
            return 130;
        if (ctx.Json)
            ctx.Out.WriteLine(JsonSerializer.Serialize(new
            {
                runId = run.RunId, model = run.ModelName, status = run.Status.ToString(), registeredVersion = run.RegisteredVersion,
                registrationBlocked = run.RegistrationBlocked, metrics = run.Metrics, artifact = run.ArtifactUri, artifactSha256 = run.ArtifactSha256,
                reason = run.FailureReason, seconds = run.DurationSeconds,
            }, new JsonSerializerOptions(ApiClient.Json) { WriteIndented = true }));
        else
            Summarize(ctx.Out, run);
        return run.Status == RunStatus.Succeeded ? 0 : 1;
    }

    /// <summary>Follows a run to its outcome with a progress line (none with --json); null when the user detached (Ctrl+C),
    /// which leaves the run going.</summary>
    public static async Task<TrainingRunView?> WatchAsync(CliContext ctx, Guid runId, IReadOnlyDictionary<string, double> hyperparameters, CancellationToken ct)
    {
        var progress = new TrainingProgress(ctx.Json ? TextWriter.Null : ctx.Out, TrainingProgress.IsTerminal(ctx.Out));
        var waiting = Stopwatch.StartNew();
        var warned = false;
        try
        {
            var run = await WaitForOutcomeAsync(ctx.Api, runId, r =>
            {
                progress.Draw(r, hyperparameters);
                if (r.Status == RunStatus.Requested && waiting.Elapsed > TimeSpan.FromSeconds(15) && !warned)
                {
                    progress.Note("no training agent has picked the run up yet: is `./emo up` running? (Ctrl+C detaches; the run stays requested)");
                    warned = true;
                }
            }, ct);
            progress.Done();
            return run;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            ctx.Err.WriteLine($"detached; the run keeps going on the control plane: follow it again with ./emo runs show {runId} --follow");
            return null;
        }
    }

    private static void Summarize(TextWriter w, TrainingRunView run)
    {
        w.WriteLine($"run {run.RunId} {run.Status.ToString().ToLowerInvariant()} in {Fmt.Seconds(run.DurationSeconds)}");
        if (run.Status != RunStatus.Succeeded)
        {
            w.WriteLine($"  reason   {run.FailureReason}");
            return;
        }
        w.WriteLine($"  metrics  {Fmt.Numbers(run.Metrics)}");
        w.WriteLine($"  artifact {run.ArtifactUri} (sha256 {run.ArtifactSha256})");
        w.WriteLine(run switch
        {
            { RegisteredVersion: { } v } => $"  registered as {run.ModelName}@{v}; approve it with ./emo versions approve {run.ModelName}@{v}",
            { RegistrationBlocked: { } why } => $"  not registered: {why}",
            _ => $"  not registered automatically; register it with ./emo versions register {run.ModelName} --run {run.RunId}",
        });
        if (RegistrationAdvice.For(run) is { } advice) w.WriteLine($"  {advice}");
    }

    /// <summary>name=value pairs: a trainer's text options (<see cref="TrainerCatalog.IsOption"/>) as text, even when they read
    /// as a number (<c>hidden=64</c>); other values that read as numbers are hyperparameters; any other text is an option
    /// the control plane judges (and refuses, naming the trainer's options, when the trainer has none of that name).</summary>
    public static (Dictionary<string, double> Numbers, Dictionary<string, string> Options) Parameters(string kind, IEnumerable<string> pairs)
    {
        var (numbers, options) = (new Dictionary<string, double>(), new Dictionary<string, string>());
        foreach (var pair in pairs)
        {
            var at = pair.IndexOf('=');
            if (at < 1 || at == pair.Length - 1)
                throw CliError.Usage($"--param '{(pair.Length > 60 ? pair[..60] + "…" : pair)}' is not name=value");
            var (name, text) = (pair[..at], pair[(at + 1)..]);
            var number = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value);
            if (TrainerCatalog.BuiltIn.IsOption(kind, name)) options[name] = text;
            else if (number) numbers[name] = value;
            else if (TrainerCatalog.BuiltIn.Kinds.GetValueOrDefault(kind)?.FirstOrDefault(p => p.Name == TrainerCatalog.Normalize(name)) is { } declared)
                throw CliError.Usage($"--param {declared.Name} takes {declared.Range}, not text");
            else options[name] = text;
        }
        return (numbers, options);
    }
}
