using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Models;
using Google.Protobuf;
using Onnx;

[assembly: AssemblyFixture(typeof(EventMlOps.Serving.Tests.Testing.TrainedModels))]

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>Real models for every test, made once per run by the real trainer (<c>emo-train</c>, a small generated
/// data set each): a recommender (v1), the same with another prediction bias (v2: other scores, other sha256), a
/// sensor autoencoder, and a broken artifact (the recommender cut short, registered under its own sha256).</summary>
public sealed class TrainedModels : IAsyncLifetime
{
    public const string Rec = "rec", Sensors = "sensors";
    private readonly Lazy<Task<ServingHost>> _shared;

    public TrainedModels() =>
        _shared = new(() => ServingHost.StartAsync(this, [RecommenderV1(), Anomaly()], "--Serving:MaxBodyBytes=65536"));

    public string Folder { get; } = Directory.CreateTempSubdirectory("emo-serving-tests-").FullName;
    public string RecommenderPath => Path.Combine(Folder, "recommender", "model.onnx");
    public string RecommenderV2Path => Path.Combine(Folder, "recommender-v2.onnx");
    public string AnomalyPath => Path.Combine(Folder, "anomaly", "model.onnx");
    public string AnomalyBaselinePath => Path.Combine(Folder, "anomaly", "baseline.json");
    public string BrokenPath => Path.Combine(Folder, "broken.onnx");

    public ServedVersion RecommenderV1(int weight = 100, string name = Rec) => Version(name, 1, RecommenderPath, weight);
    public ServedVersion RecommenderV2(int weight = 100, string name = Rec) => Version(name, 2, RecommenderV2Path, weight);
    public ServedVersion Anomaly(int weight = 100) => Version(Sensors, 1, AnomalyPath, weight);
    public ServedVersion Broken(int version = 3) => Version(Rec, version, BrokenPath, 100);

    /// <summary>A trained model (<see cref="RecommenderPath"/>, <see cref="AnomalyPath"/>) carrying faults in its
    /// metadata_props as <c>emo-train --fault-latency-ms … --fault-error-rate …</c> writes them, as <paramref name="version"/>
    /// under its own sha256. <paramref name="metadata"/>: other entries to set (say, a malformed fault).</summary>
    public ServedVersion WithFaults(string name, int version, string path, InjectedFaults faults, params KeyValuePair<string, string>[] metadata)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        foreach (var (key, value) in faults.Metadata().Concat(metadata))
        {
            // A key the trainer wrote already is replaced: one value per key, as a forged file would carry it.
            foreach (var old in model.MetadataProps.Where(p => p.Key == key).ToList()) model.MetadataProps.Remove(old);
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        var copy = Path.Combine(Folder, $"faulty-{Guid.NewGuid():N}.onnx");
        OnnxGraph.Save(model, copy);
        return Version(name, version, copy, 100);
    }

    /// <summary>The v2 recommender under v1's sha256: what a tampered or mixed-up artifact looks like.</summary>
    public ServedVersion HashMismatch(int version = 3) => RecommenderV2() with { Version = version, ArtifactSha256 = RecommenderV1().ArtifactSha256 };

    /// <summary>One server for the tests that only read: rec@1 and sensors@1, a 64 KiB body limit.</summary>
    public Task<ServingHost> SharedAsync() => _shared.Value;

    public async ValueTask InitializeAsync()
    {
        await Task.WhenAll(
            TrainAsync("recommender", "--users", "300", "--items", "400", "--interactions", "20000"),
            TrainAsync("anomaly", AnomalySizes));
        var v2 = ModelProto.Parser.ParseFrom(await File.ReadAllBytesAsync(RecommenderPath));
        var bias = v2.Graph.Initializer.Single(t => t.Name == "predict.bias");
        bias.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes<float>([MemoryMarshal.Cast<byte, float>(bias.RawData.Span)[0] + 0.5f]));
        OnnxGraph.Save(v2, RecommenderV2Path);
        var bytes = await File.ReadAllBytesAsync(RecommenderPath);
        await File.WriteAllBytesAsync(BrokenPath, bytes[..(bytes.Length / 2)]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_shared.IsValueCreated) await (await _shared.Value).DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    private static ServedVersion Version(string name, int version, string path, int weight) =>
        new(name, version, new Uri(path).AbsoluteUri, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), weight);

    /// <summary>Normal readings from the generator the anomaly model was trained on (its machines, days and seed), as CSV.</summary>
    public async Task<string> SensorReadingsAsync()
    {
        var path = Path.Combine(Folder, $"readings-{Guid.NewGuid():N}.csv");
        await RunTrainerAsync(["generate", "sensors", .. AnomalySizes, "--normal-fraction", "1", "--out", path]);
        return path;
    }

    private static readonly string[] AnomalySizes = ["--machines", "2", "--days", "3"];

    private Task TrainAsync(string trainer, params string[] sizes) =>
        RunTrainerAsync([trainer, "--generate", .. sizes, "--epochs", "2", "--out", Path.Combine(Folder, trainer)]);

    /// <summary>Runs this build's <c>emo-train</c> with <paramref name="args"/> (training, or <c>generate sensors …</c>).</summary>
    public static async Task RunTrainerAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[TrainerDll(), .. args])
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"emo-train {args[0]} exited with {process.ExitCode}: {await stderr}\n{await stdout}");
    }

    /// <summary>emo-train.dll from the trainer project's build output in this test build's configuration.</summary>
    private static string TrainerDll()
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        for (var dir = framework; dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Training", "bin", framework.Parent!.Name, framework.Name, "emo-train.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"emo-train.dll not found above {AppContext.BaseDirectory}: build src/Training");
    }
}
