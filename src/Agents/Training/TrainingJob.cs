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
        // The store reads only under its data roots (every link resolved first), only regular files, bounded in size
        // and time (Datasets:MaxBytes, Datasets:ReadTimeoutSeconds) — whatever the control plane accepted.
        var dataPath = TrainerCommand.Generator(order) is null ? await store.LocalizeAsync(order.DatasetUri, order.DatasetSha256, ct) : null;
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
