using System.Globalization;
using EventMlOps.ControlPlane.Auth;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Training;

/// <param name="Home">The agent's state: <c>$EMO_HOME/agents</c> (jobs/ for the runtime, training/ for runs).</param>
/// <param name="Trainer"><c>Training:Trainer</c> (or <c>EMO_TRAINER</c>): emo-train.dll or an executable; null = none configured.</param>
/// <param name="Dotnet">The <c>dotnet</c> host that runs a .dll trainer.</param>
/// <param name="TrackingUri"><c>Training:TrackingUri</c>: the control plane's base URL, given to the trainer as MLFLOW_TRACKING_URI.</param>
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
        ResolveTrainer(config["Training:Trainer"] ?? config["EMO_TRAINER"]),
        ResolveDotnet(),
        config["Training:TrackingUri"] is { Length: > 0 } uri ? uri : null,
        TimeSpan.FromSeconds(Number(config, "Agents:HeartbeatSeconds", 15)),
        TimeSpan.FromMilliseconds(Number(config, "Agents:PollMilliseconds", 250)),
        TimeSpan.FromSeconds(Number(config, "Agents:CancelGraceSeconds", 10)),
        (int)Number(config, "Agents:LogTailLines", 20));

    /// <summary>A configured path is made absolute (a bare name is looked up on PATH when it runs); without one,
    /// an emo-train.dll next to the agent is used when there is one.</summary>
    private static string? ResolveTrainer(string? configured)
    {
        if (configured is { Length: > 0 })
            return configured.Contains('/') ? Path.GetFullPath(configured) : configured;
        var beside = Path.Combine(AppContext.BaseDirectory, "emo-train.dll");
        return File.Exists(beside) ? beside : null;
    }

    private static string ResolveDotnet()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        return Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    private static double Number(IConfiguration config, string key, double fallback) =>
        double.TryParse(config[key], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}
