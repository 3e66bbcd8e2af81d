using EventMlOps.Agents.Hosting;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Serving;

/// <param name="Image"><c>Serving:Image</c>: the model server's container image for a cluster runtime (default <c>emo-serve</c>).</param>
/// <param name="Placement"><c>Serving:Placement</c>: node selector and tolerations for a cluster runtime.</param>
/// <param name="EmoHome">Given to the model server, which finds the artifact store from it as the agents do.</param>
/// <param name="Server"><c>Serving:Server</c> (or <c>EMO_SERVE</c>): emo-serve.dll or an executable; null = none configured.</param>
/// <param name="ControlPlaneUrl"><c>Agents:ControlPlaneUrl</c> (default: <c>Training:TrackingUri</c>): where a replica polls its
/// endpoint's desired state, and where the agent reads it back after a restart.</param>
/// <param name="SuperviseInterval">How often replicas are checked (and dead ones restarted): <c>Agents:SuperviseMilliseconds</c> (1000).</param>
/// <param name="StartTimeout">How long a new replica may take to answer <c>/health/live</c>: <c>Agents:ServingStartSeconds</c> (60).</param>
/// <param name="ServerEnvironment">The agent's <c>Artifacts</c> settings as environment variables, so a replica reads the
/// artifact store the agents write to.</param>
/// <param name="StoreEnvironment">How a replica on a cluster reaches the artifact store (see <c>ArtifactStore.ForJob</c>),
/// and <paramref name="StoreSecrets"/> the credentials it needs for it.</param>
/// <param name="ServerArguments">Extra arguments for every replica (<c>Serving:Arguments</c>, space-separated), e.g. <c>--Serving:LogLevel=Warning</c>.</param>
/// <param name="Stream">What replicas need to score their endpoint's sensor readings; null when streams are off (<see cref="ReplicaStream.From"/>).</param>
public sealed record ServingAgentOptions(
    string Image,
    Runtime.JobPlacement? Placement,
    string EmoHome,
    string? Server,
    string Dotnet,
    string? ControlPlaneUrl,
    TimeSpan SuperviseInterval,
    TimeSpan StartTimeout,
    IReadOnlyDictionary<string, string> ServerEnvironment,
    IReadOnlyDictionary<string, string> StoreEnvironment,
    IReadOnlyDictionary<string, string> StoreSecrets,
    IReadOnlyList<string> ServerArguments,
    ReplicaStream? Stream)
{
    public static ServingAgentOptions From(IConfiguration config)
    {
        var home = EventMlOps.Hosting.EmoHome.Resolve(config);
        var (storeEnvironment, storeSecrets) = Artifacts.ArtifactStore.ForJob(config, home, onThisMachine: !AgentSettings.OnKubernetes(config));
        return new(
            config["Serving:Image"] is { Length: > 0 } image ? image : "emo-serve",
            Runtime.JobPlacement.From(config.GetSection("Serving:Placement")),
            home,
            AgentSettings.Program(config, "Serving:Server", "EMO_SERVE", "emo-serve"),
            AgentSettings.Dotnet(),
            (config["Agents:ControlPlaneUrl"] ?? config["Training:TrackingUri"]) is { Length: > 0 } url ? url : null,
            TimeSpan.FromMilliseconds(AgentSettings.Number(config, "Agents:SuperviseMilliseconds", 1000)),
            TimeSpan.FromSeconds(AgentSettings.Number(config, "Agents:ServingStartSeconds", 60)),
            config.GetSection("Artifacts").AsEnumerable(makePathsRelative: false).Where(e => e.Value is not null)
                .ToDictionary(e => e.Key.Replace(":", "__", StringComparison.Ordinal), e => e.Value!),
            storeEnvironment,
            storeSecrets,
            (config["Serving:Arguments"] ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries),
            ReplicaStream.From(config));
    }
}
