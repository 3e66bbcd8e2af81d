using System.Diagnostics;

namespace EventMlOps.Training.Tests.Testing;

public sealed record TrainerRun(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> Lines(string prefix)
        => Stdout.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[prefix.Length..]).ToList();
}

/// <summary>Runs the real <c>emo-train</c> executable as a child process (<c>dotnet emo-train.dll …</c>), the way
/// the training agent does.</summary>
public static class TrainerProcess
{
    /// <summary>emo-train.dll as the SDK copies a referenced executable beside these tests (with its runtimeconfig
    /// and deps), else from the trainer project's own build output (same configuration).</summary>
    public static string Dll { get; } = Locate();

    private static string Locate()
    {
        var here = AppContext.BaseDirectory; // …/tests/Training.Tests/bin/<Configuration>/net10.0/
        if (File.Exists(Path.Combine(here, "emo-train.runtimeconfig.json"))) return Path.Combine(here, "emo-train.dll");
        var framework = new DirectoryInfo(here.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        for (var dir = framework; dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Training", "bin", configuration, framework.Name, "emo-train.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"emo-train.dll not found above {here}");
    }

    public static async Task<TrainerRun> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 120)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var name in new[] { "MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_TOKEN" }) start.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new TrainerRun(process.ExitCode, await stdout, await stderr);
    }
}
