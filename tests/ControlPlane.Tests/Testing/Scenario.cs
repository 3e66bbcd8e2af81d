using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.Tests.Testing;

/// <summary>Drives a lifecycle through the real HTTP API as distinct users: alice (scientist),
/// bob (approver), olga (operator) and the training agent.</summary>
public sealed class Scenario(ControlPlaneFixture fx, string? model = null, string trainer = "recommender")
{
    public readonly string Model = model ?? "m" + Guid.NewGuid().ToString("N")[..10];
    public readonly string Endpoint = "e" + Guid.NewGuid().ToString("N")[..10];
    public readonly string DatasetSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray()));
    public readonly Guid DatasetId = Guid.NewGuid();
    public readonly HttpClient Scientist = fx.Client(Roles.Scientist, "alice");
    public readonly HttpClient Approver = fx.Client(Roles.Approver, "bob");
    public readonly HttpClient Operator = fx.Client(Roles.Operator, "olga");
    public readonly HttpClient Agent = fx.Client(Roles.Agent, "training-agent");
    public readonly HttpClient Viewer = fx.Client(Roles.Viewer, "victor");

    public async Task<CommandAccepted> RegisterDataset() =>
        await (await Scientist.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), DatasetId, "ratings", "file:///data/u.data", DatasetSha,
            "movielens-udata", 100_000, [new DatasetColumn("user", "int"), new DatasetColumn("item", "int")]))).Read<CommandAccepted>();

    public RequestTraining Request(Guid? runId = null) => new(Guid.NewGuid(), runId ?? Guid.NewGuid(), Model, trainer, DatasetId,
        new Dictionary<string, double> { ["epochs"] = 3, ["learning_rate"] = 0.001 }, new TrainingResources(2, 4096, 0), "git:abc123");

    /// <summary>Requests a run and reports the agent's facts through to success.</summary>
    public Task<Guid> TrainedRun(double hr = 0.7) => TrainedRun(new Dictionary<string, double> { ["hr@10"] = hr });

    public async Task<Guid> TrainedRun(IReadOnlyDictionary<string, double> metrics)
    {
        var request = Request();
        (await Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        var run = request.RunId;
        await Fact("/api/runs/facts/submitted", new TrainingJobSubmitted(Guid.NewGuid(), run, $"train-{run:N}", "local"));
        await Fact("/api/runs/facts/started", new TrainingStarted(Guid.NewGuid(), run, DateTimeOffset.UtcNow));
        for (var epoch = 1; epoch <= 3; epoch++)
            await Fact("/api/runs/facts/epoch", new EpochCompleted(Guid.NewGuid(), run, epoch, new Dictionary<string, double> { ["loss"] = 1.0 / epoch }));
        await Fact("/api/runs/facts/succeeded", new TrainingSucceeded(Guid.NewGuid(), run, $"file:///artifacts/{run:N}.onnx",
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(run.ToByteArray())), metrics));
        return run;
    }

    public async Task<int> RegisteredVersion(Guid run)
    {
        var accepted = await (await Scientist.Send("/api/models/versions", new RegisterModelVersion(Guid.NewGuid(), Model, run))).Read<CommandAccepted>();
        return int.Parse(accepted.Stream[(accepted.Stream.LastIndexOf('@') + 1)..]);
    }

    public async Task Approve(int version) =>
        (await Approver.Send("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), Model, version, "looks good"))).EnsureSuccessStatusCode();

    public async Task CreateEndpoint() =>
        (await Operator.Send("/api/endpoints", new CreateEndpoint(Guid.NewGuid(), Endpoint, Model, 1, 3))).EnsureSuccessStatusCode();

    public Task<HttpResponseMessage> RollOut(int version, RolloutStrategy? strategy = null, long? expectedVersion = null) =>
        Operator.Send("/api/endpoints/rollout", new RollOut(Guid.NewGuid(), Endpoint, version, strategy ?? RolloutStrategy.Immediate, expectedVersion));

    private async Task Fact(string route, object fact) => (await Agent.Send(route, fact)).EnsureSuccessStatusCode();
}
