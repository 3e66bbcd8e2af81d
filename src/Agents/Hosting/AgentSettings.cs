using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Hosting;

/// <summary>How the agents find the programs they run (a trainer, the model server) and read their numeric settings.</summary>
public static class AgentSettings
{
    /// <summary><c>Agents:Runtime</c>: <c>local</c> (the default) or <c>kubernetes</c>.</summary>
    public static bool OnKubernetes(IConfiguration config) => config["Agents:Runtime"] switch
    {
        null or "" or "local" => false,
        "kubernetes" => true,
        var other => throw new InvalidOperationException($"Agents:Runtime is '{other}': use local or kubernetes"),
    };

    /// <summary>A program the agents run (<paramref name="name"/>, e.g. emo-train): <paramref name="key"/> when configured, a
    /// path made absolute (a bare name is looked up on PATH when it runs). On Kubernetes it runs in its image, so it is the
    /// configured name or else <paramref name="name"/> itself (the image's program); locally, else
    /// <paramref name="environmentKey"/>, else its .dll next to the agent when there is one.</summary>
    public static string? Program(IConfiguration config, string key, string environmentKey, string name)
    {
        if (OnKubernetes(config)) return config[key] is { Length: > 0 } inImage ? inImage : name;
        if ((config[key] ?? config[environmentKey]) is { Length: > 0 } configured)
            return configured.Contains('/') ? Path.GetFullPath(configured) : configured;
        var beside = Path.Combine(AppContext.BaseDirectory, name + ".dll");
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
