using EventMlOps.Agents.Hosting;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Training;

/// <param name="Home">The agent's state: <c>$EMO_HOME/agents</c> (jobs/ for the runtime, training/ for runs).</param>
/// <param name="Trainer"><c>Training:Trainer</c> (or <c>EMO_TRAINER</c>): emo-train.dll or an executable; null = none configured.</param>
/// <param name="Dotnet">The <c>dotnet</c> host that runs a .dll trainer.</param>
/// <param name="TrackingUri"><c>Training:TrackingUri</c> (default: <c>Agents:ControlPlaneUrl</c>): the control plane's base URL,
/// given to the trainer as MLFLOW_TRACKING_URI.</param>
public sealed record TrainingAgentOptions(
    string Home,
    string? Trainer,
    string Dotnet,
    string? TrackingUri,
    TimeSpan HeartbeatInterval,
    TimeSpan PollInterval,
    TimeSpan CancelGrace,
    int LogTailLines)
{
    public static TrainingAgentOptions From(IConfiguration config) => new(
        Path.Combine(EmoHome.Resolve(config), "agents"),
        AgentSettings.Program(config["Training:Trainer"] ?? config["EMO_TRAINER"], "emo-train.dll"),
        AgentSettings.Dotnet(),
        (config["Training:TrackingUri"] ?? config["Agents:ControlPlaneUrl"]) is { Length: > 0 } uri ? uri : null,
        TimeSpan.FromSeconds(AgentSettings.Number(config, "Agents:HeartbeatSeconds", 15)),
        TimeSpan.FromMilliseconds(AgentSettings.Number(config, "Agents:PollMilliseconds", 250)),
        TimeSpan.FromSeconds(AgentSettings.Number(config, "Agents:CancelGraceSeconds", 10)),
        (int)AgentSettings.Number(config, "Agents:LogTailLines", 20));
}
