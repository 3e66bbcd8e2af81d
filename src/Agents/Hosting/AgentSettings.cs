using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Hosting;

/// <summary>How the agents find the programs they run (a trainer, the model server) and read their numeric settings.</summary>
public static class AgentSettings
{
    /// <summary>A configured path made absolute (a bare name is looked up on PATH when it runs); without one, the
    /// program's .dll next to the agent when there is one.</summary>
    public static string? Program(string? configured, string besideName)
    {
        if (configured is { Length: > 0 })
            return configured.Contains('/') ? Path.GetFullPath(configured) : configured;
        var beside = Path.Combine(AppContext.BaseDirectory, besideName);
        return File.Exists(beside) ? beside : null;
    }

    /// <summary>The <c>dotnet</c> host that runs a .dll program.</summary>
    public static string Dotnet()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        return Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    /// <summary>How to run <paramref name="program"/>: through <paramref name="dotnet"/> when it is a .dll.</summary>
    public static (string Command, IReadOnlyList<string> Prefix) Command(string program, string dotnet) =>
        program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? (dotnet, [program]) : (program, []);

    public static double Number(IConfiguration config, string key, double fallback) =>
        double.TryParse(config[key], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}
