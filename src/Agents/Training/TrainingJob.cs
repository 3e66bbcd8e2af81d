using EventMlOps.Agents.Runtime;
using EventMlOps.Artifacts;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Training;

/// <summary>Turns a work order into the job the runtime runs: the dataset verified against its sha256 (or left to the
/// trainer's generator), the trainer's command line, its tracking settings and resources.</summary>
public static class TrainingJob
{
    /// <exception cref="InvalidTrainingOrder">No usable trainer or command line.</exception>
    /// <exception cref="ArtifactIntegrityException">The dataset's content does not match its sha256.</exception>
    public static async Task<JobSpec> PrepareAsync(LaunchTraining order, TrainingWorkspace workspace, IArtifactStore store,
        TrainingAgentOptions options, CancellationToken ct)
    {
        var trainer = options.Trainer
            ?? throw new InvalidTrainingOrder("no trainer is configured on this agent: set Training:Trainer (or EMO_TRAINER) to emo-train.dll or an executable");
        if (trainer.Contains('/') && !File.Exists(trainer))
            throw new InvalidTrainingOrder($"the trainer {trainer} does not exist on this agent");
        // Checked again here, whatever the control plane accepted: this agent never reads keys, its database or system files.
        if (EventMlOps.Contracts.Artifacts.DataUris.Problem(order.DatasetUri, [], options.ProtectedPaths) is { } problem)
            throw new InvalidTrainingOrder($"the dataset's location is refused: {problem}");
        if (Uri.TryCreate(order.DatasetUri, UriKind.Absolute, out var file) && file.IsFile && File.Exists(file.LocalPath))
        {
            // Where the read would really go, every link followed, before a byte is read.
            var real = await ArtifactStore.RealPathAsync(file.LocalPath, ct);
            if (options.ProtectedPaths.Concat(EventMlOps.Contracts.Artifacts.DataUris.SystemPaths).Any(p => EventMlOps.Contracts.Artifacts.DataUris.Under(real, p)))
                throw new InvalidTrainingOrder("the dataset's location is refused: it links to a protected location");
            if (new FileInfo(file.LocalPath).Length > options.MaxDatasetBytes)
                throw new InvalidTrainingOrder($"the dataset is larger than this agent reads (Datasets:MaxBytes, {options.MaxDatasetBytes} bytes)");
        }
        // Reading and verifying the data is bounded in time as well: nothing occupies the agent for ever.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(options.DatasetReadTimeout);
        string? dataPath;
        try
        {
            dataPath = TrainerCommand.Generator(order) is null ? await store.LocalizeAsync(order.DatasetUri, order.DatasetSha256, bounded.Token) : null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new InvalidTrainingOrder($"reading the dataset took longer than {options.DatasetReadTimeout.TotalSeconds:0} s (Datasets:ReadTimeoutSeconds)");
        }
        var output = workspace.Output(order.RunId);
        Directory.CreateDirectory(output);
        var invocation = TrainerCommand.Build(order, trainer, options.Dotnet, dataPath, output);

        var environment = new Dictionary<string, string> { ["MLFLOW_RUN_ID"] = order.RunId.ToString("N") };
        if (options.TrackingUri is { } tracking) environment["MLFLOW_TRACKING_URI"] = tracking;
        var secrets = new Dictionary<string, string>();
        if (order.TrackingToken is { Length: > 0 } token) secrets["MLFLOW_TRACKING_TOKEN"] = token;
        var resources = order.Resources ?? new TrainingResources();
        return new JobSpec(
            TrainingWorkspace.JobName(order.RunId), invocation.Command, invocation.Args, environment, secrets,
            output, new JobResources(resources.Cpus, resources.MemoryMb, resources.Gpus), workspace.Log(order.RunId),
            new Dictionary<string, string>
            {
                [TrainingWorkspace.RunIdLabel] = order.RunId.ToString("N"),
                ["eventmlops.io/model"] = order.ModelName,
                ["eventmlops.io/trainer"] = order.TrainerKind,
                ["eventmlops.io/component"] = "training",
            });
    }
}
