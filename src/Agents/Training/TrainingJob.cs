using System.Text.RegularExpressions;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Training;

/// <summary>Turns a work order into the job the runtime runs: the trainer's command line (it fetches and verifies the
/// dataset and publishes its outputs itself), what it needs to reach the artifact store and the tracking API, its image,
/// placement and resources. Nothing of it refers to the agent's own disk.</summary>
public static class TrainingJob
{
    private static readonly Regex Pin = new("^(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})\\z", RegexOptions.CultureInvariant);

    /// <summary>The image a run's job runs: the trainer's configured image — or, when the run's code version names that
    /// same repository at a tag or digest (<c>registry/emo-train@sha256:…</c>), that version of it. A code version never
    /// chooses another repository: the job gets the artifact store's credentials, so what runs with them is the
    /// operator's choice.</summary>
    public static string Image(string configured, string? codeVersion)
    {
        var repository = Repository(configured);
        return codeVersion is { } version && version.StartsWith(repository, StringComparison.Ordinal) && Pin.IsMatch(version[repository.Length..])
            ? version
            : configured;
    }

    private static string Repository(string image)
    {
        var at = image.IndexOf('@');
        if (at >= 0) image = image[..at];
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? image[..colon] : image;
    }

    /// <summary>The longest code version a job carries (as a label, or an annotation where it is no label value): a cluster
    /// refuses an object whose annotations pass 256 KiB, and would refuse the job on every retry.</summary>
    public const int MaxCodeVersion = 4096;

    /// <exception cref="InvalidTrainingOrder">No usable trainer or command line, or a code version no job can carry.</exception>
    public static JobSpec Prepare(LaunchTraining order, TrainingAgentOptions options)
    {
        if (order.CodeVersion.Length > MaxCodeVersion)
            throw new InvalidTrainingOrder($"the code version is {order.CodeVersion.Length} characters long; a job carries at most {MaxCodeVersion}");
        var trainer = options.Trainer
            ?? throw new InvalidTrainingOrder("no trainer is configured on this agent: set Training:Trainer (or EMO_TRAINER) to emo-train.dll or an executable");
        if (trainer.Contains('/') && !File.Exists(trainer))
            throw new InvalidTrainingOrder($"the trainer {trainer} does not exist on this agent");
        var invocation = TrainerCommand.Build(order, trainer, options.Dotnet);

        var environment = new Dictionary<string, string>(options.StoreEnvironment) { ["MLFLOW_RUN_ID"] = order.RunId.ToString("N") };
        if (options.TrackingUri is { } tracking) environment["MLFLOW_TRACKING_URI"] = tracking;
        var secrets = new Dictionary<string, string>(options.StoreSecrets);
        if (order.TrackingToken is { Length: > 0 } token) secrets["MLFLOW_TRACKING_TOKEN"] = token;
        var resources = order.Resources ?? new TrainingResources();
        return new JobSpec(
            TrainingRuns.JobName(order.RunId), Image(options.ImageFor(order.TrainerKind), order.CodeVersion), invocation.Command, invocation.Args, environment, secrets,
            new JobResources(resources.Cpus, resources.MemoryMb, resources.Gpus),
            new Dictionary<string, string>
            {
                [TrainingRuns.RunIdLabel] = order.RunId.ToString("N"),
                ["eventmlops.io/model"] = order.ModelName,
                ["eventmlops.io/trainer"] = order.TrainerKind,
                ["eventmlops.io/component"] = "training",
                ["eventmlops.io/code-version"] = order.CodeVersion,
            },
            options.Placement);
    }
}
