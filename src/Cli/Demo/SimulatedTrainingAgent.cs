using System.Security.Cryptography;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Cli.Demo;

/// <summary>Stands in for the training agent (a later issue brings the real one): reports the facts of a run
/// with an agent's token — submitted, started, epochs with metrics, succeeded with a content-addressed artifact.</summary>
public sealed class SimulatedTrainingAgent(ApiClient agent, string artifactFolder)
{
    public sealed record Outcome(string ArtifactUri, string ArtifactSha256, IReadOnlyDictionary<string, double> Metrics);

    public async Task<Outcome> TrainAsync(Guid runId, string model, double quality, Action<string> say, CancellationToken ct)
    {
        var job = $"train-{runId:N}";
        await agent.SendAsync("/api/runs/facts/submitted", new TrainingJobSubmitted(Guid.NewGuid(), runId, job, "demo"), ct);
        await agent.SendAsync("/api/runs/facts/started", new TrainingStarted(Guid.NewGuid(), runId, DateTimeOffset.UtcNow), ct);
        say($"submitted as job {job}, started");
        IReadOnlyDictionary<string, double> metrics = new Dictionary<string, double>();
        for (var epoch = 1; epoch <= 3; epoch++)
        {
            await Task.Delay(150, ct); // a run takes time; its duration shows up in the lineage
            metrics = new Dictionary<string, double>
            {
                ["loss"] = Math.Round(0.69 - 0.08 * epoch * quality, 4),
                ["hr@10"] = Math.Round(0.35 + 0.09 * epoch * quality, 4),
                ["ndcg@10"] = Math.Round(0.19 + 0.06 * epoch * quality, 4),
                ["baseline_hr@10"] = 0.41,
                ["baseline_ndcg@10"] = 0.22,
            };
            await agent.SendAsync("/api/runs/facts/epoch", new EpochCompleted(Guid.NewGuid(), runId, epoch, metrics), ct);
            say($"epoch {epoch}  {Fmt.Numbers(metrics)}");
        }
        var (uri, sha) = WriteArtifact(runId, model);
        await agent.SendAsync("/api/runs/facts/succeeded", new TrainingSucceeded(Guid.NewGuid(), runId, uri, sha, metrics), ct);
        say($"succeeded: artifact {uri}");
        say($"           sha256 {sha}");
        return new Outcome(uri, sha, metrics);
    }

    /// <summary>Stand-in model bytes derived from the run id; what matters here is its content address.</summary>
    private (string Uri, string Sha256) WriteArtifact(Guid runId, string model)
    {
        Directory.CreateDirectory(artifactFolder);
        var path = Path.Combine(artifactFolder, $"{model}-{runId:N}.bin");
        var bytes = new byte[64 * 1024];
        new Random(runId.GetHashCode()).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return (new Uri(path).AbsoluteUri, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }
}
