using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Runtime;
using EventMlOps.Artifacts;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Training;

/// <param name="Image"><c>Training:Image</c>: the trainer's container image for a cluster runtime (default <c>emo-train</c>),
/// and <paramref name="Images"/> (<c>Training:Images:&lt;trainer&gt;</c>) one per trainer kind over it.</param>
/// <param name="Placement"><c>Training:Placement</c>: node selector and tolerations for a cluster runtime (e.g. GPU nodes).</param>
/// <param name="StoreEnvironment">How a trainer reaches the artifact store (see <c>ArtifactStore.ForJob</c>), and
/// <paramref name="StoreSecrets"/> the credentials it needs for it.</param>
/// <param name="Trainer"><c>Training:Trainer</c> (or <c>EMO_TRAINER</c>): emo-train.dll or an executable; null = none configured.</param>
/// <param name="Dotnet">The <c>dotnet</c> host that runs a .dll trainer.</param>
/// <param name="TrackingUri"><c>Training:TrackingUri</c> (default: <c>Agents:ControlPlaneUrl</c>): the control plane's base URL,
/// given to the trainer as MLFLOW_TRACKING_URI.</param>
public sealed record TrainingAgentOptions(
    string Image,
    IReadOnlyDictionary<string, string> Images,
    JobPlacement? Placement,
    IReadOnlyDictionary<string, string> StoreEnvironment,
    IReadOnlyDictionary<string, string> StoreSecrets,
    string? Trainer,
    string Dotnet,
    string? TrackingUri,
    TimeSpan HeartbeatInterval,
    TimeSpan PollInterval,
    TimeSpan CancelGrace,
    int LogTailLines)
{
    public string ImageFor(string? trainerKind) => trainerKind is not null && Images.TryGetValue(trainerKind, out var image) ? image : Image;

    public static TrainingAgentOptions From(IConfiguration config)
    {
        var (environment, secrets) = ArtifactStore.ForJob(config, EmoHome.Resolve(config), onThisMachine: !AgentSettings.OnKubernetes(config));
        return new(
            config["Training:Image"] is { Length: > 0 } image ? image : "emo-train",
            config.GetSection("Training:Images").GetChildren().Where(c => c.Value is { Length: > 0 }).ToDictionary(c => c.Key, c => c.Value!, StringComparer.OrdinalIgnoreCase),
            JobPlacement.From(config.GetSection("Training:Placement")),
            environment,
            secrets,
            AgentSettings.Program(config, "Training:Trainer", "EMO_TRAINER", "emo-train"),
            AgentSettings.Dotnet(),
            (config["Training:TrackingUri"] ?? config["Agents:ControlPlaneUrl"]) is { Length: > 0 } uri ? uri : null,
            TimeSpan.FromSeconds(AgentSettings.Number(config, "Agents:HeartbeatSeconds", 15)),
            // A pod log has no offsets: each look reads it from its start, so a cluster is looked at less often.
            TimeSpan.FromMilliseconds(AgentSettings.Number(config, "Agents:PollMilliseconds", AgentSettings.OnKubernetes(config) ? 2000 : 250)),
            TimeSpan.FromSeconds(AgentSettings.Number(config, "Agents:CancelGraceSeconds", 10)),
            (int)AgentSettings.Number(config, "Agents:LogTailLines", 20));
    }
}
