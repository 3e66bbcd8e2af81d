using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace EventMlOps.Serving.Bench;

/// <summary>A model the benchmark serves: its file and sha256.</summary>
public sealed record BenchModel(string Name, string Path, string Sha256);

/// <summary>Makes the benchmark's models with the real trainer (one epoch: serving speed does not depend on quality),
/// cached under <c>.emo/serving-bench/models</c> by the trainer's arguments.</summary>
public static class BenchModels
{
    public static Task<BenchModel> RecommenderAsync(string home, bool quick, TextWriter output, CancellationToken ct) =>
        TrainAsync(home, "recommender",
            ["--generate", "--users", quick ? "600" : "6000", "--items", "4000", "--interactions", quick ? "60000" : "1000000", "--epochs", "1"],
            output, ct);

    public static Task<BenchModel> AnomalyAsync(string home, TextWriter output, CancellationToken ct) =>
        TrainAsync(home, "anomaly", ["--generate", "--machines", "2", "--days", "7", "--epochs", "1"], output, ct);

    public static async Task<BenchModel> TrainAsync(string home, string trainer, string[] args, TextWriter output, CancellationToken ct)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(trainer + " " + string.Join(' ', args))))[..12];
        var folder = System.IO.Path.Combine(home, "models", $"{trainer}-{key}");
        var model = System.IO.Path.Combine(folder, "model.onnx");
        if (!File.Exists(model))
        {
            output.WriteLine($"  training the {trainer} ({string.Join(' ', args)}) with emo-train…");
            var clock = Stopwatch.StartNew();
            var trainerDll = System.IO.Path.Combine(RepoRoot(), "src", "Training", "bin", "Release", "net10.0", "emo-train.dll");
            if (!File.Exists(trainerDll)) throw new InvalidOperationException($"the trainer is not built: {trainerDll} (dotnet build src/Training -c Release)");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])[trainerDll, trainer, .. args, "--out", folder + ".tmp"]) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"emo-train {trainer} exited with {process.ExitCode}: {await stderr}\n{await stdout}");
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(folder + ".tmp", folder);
            output.WriteLine($"  trained in {clock.Elapsed.TotalSeconds:N0} s → {model}");
        }
        await using var file = File.OpenRead(model);
        return new(trainer, model, Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct)));
    }

    public static string RepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "EventMlOps.sln")))
                    return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
