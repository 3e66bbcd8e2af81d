using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
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

    private bool _registered, _versioned;

    public async Task<CommandAccepted> RegisterDataset()
    {
        _registered = true;
        return await (await Scientist.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), DatasetId, "ratings", "file:///data/u.data", DatasetSha,
            "movielens-udata", 100_000, [new DatasetColumn("user", "int"), new DatasetColumn("item", "int")]))).Read<CommandAccepted>();
    }

    public RequestTraining Request(Guid? runId = null) => new(Guid.NewGuid(), runId ?? Guid.NewGuid(), Model, trainer, DatasetId,
        new Dictionary<string, double> { ["epochs"] = 3, ["lr"] = 0.001 }, new TrainingResources(2, 4096, 0), "git:abc123");

    /// <summary>Requests a run and reports the agent's facts through to success.</summary>
    public Task<Guid> TrainedRun(double hr = 0.7) => TrainedRun(new Dictionary<string, double> { ["hr@10"] = hr });

    public async Task<Guid> TrainedRun(IReadOnlyDictionary<string, double> metrics, IReadOnlyDictionary<string, EventMlOps.Contracts.Artifacts.ArtifactRef>? outputs = null)
    {
        var request = Request();
        (await Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        var run = request.RunId;
        await Fact("/api/runs/facts/submitted", new JobSubmittedReport(Guid.NewGuid(), run, $"train-{run:N}", "local"));
        await Fact("/api/runs/facts/started", new TrainingStartedReport(Guid.NewGuid(), run, DateTimeOffset.UtcNow));
        for (var epoch = 1; epoch <= 3; epoch++)
            await Fact("/api/runs/facts/epoch", new EpochReport(Guid.NewGuid(), run, epoch, new Dictionary<string, double> { ["loss"] = 1.0 / epoch }));
        await Fact("/api/runs/facts/succeeded", new TrainingSucceededReport(Guid.NewGuid(), run, $"file:///artifacts/{run:N}.onnx",
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(run.ToByteArray())), metrics, outputs));
        return run;
    }

    public async Task<int> RegisteredVersion(Guid run)
    {
        var accepted = await (await Scientist.Send("/api/models/versions", new RegisterModelVersion(Guid.NewGuid(), Model, run))).Read<CommandAccepted>();
        _versioned = true;
        return int.Parse(accepted.Stream[(accepted.Stream.LastIndexOf('@') + 1)..]);
    }

    public async Task Approve(int version) =>
        (await Approver.Send("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), Model, version, "looks good"))).EnsureSuccessStatusCode();

    /// <summary>Two registered versions, the endpoint serving the first (rolled out at once and served).</summary>
    public async Task<(int V1, int V2)> ServingV1Async()
    {
        await RegisterDataset();
        var v1 = await RegisteredVersion(await TrainedRun());
        var v2 = await RegisteredVersion(await TrainedRun());
        await CreateEndpoint();
        (await RollOut(v1)).EnsureSuccessStatusCode();
        return (v1, v2);
    }

    /// <summary>Creates the endpoint, registering a first version of the model when it has none (an endpoint needs a model).</summary>
    public async Task CreateEndpoint()
    {
        if (!_versioned)
        {
            if (!_registered) await RegisterDataset();
            await RegisteredVersion(await TrainedRun());
        }
        (await Operator.Send("/api/endpoints", new CreateEndpoint(Guid.NewGuid(), Endpoint, Model, 1, 3))).EnsureSuccessStatusCode();
    }

    /// <summary>Rolls out a version bob approved; an immediate rollout is then reported served by the endpoint's replica, which promotes it.</summary>
    public async Task<HttpResponseMessage> RollOut(int version, RolloutStrategy? strategy = null, long? expectedVersion = null)
    {
        // Four eyes: bob's approval (idempotent) comes before any rollout; an unknown version is left for the rollout to refuse.
        await Approver.Send("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), Model, version, "looks good"));
        var response = await Operator.Send("/api/endpoints/rollout", new RollOut(Guid.NewGuid(), Endpoint, version, strategy ?? RolloutStrategy.Immediate, expectedVersion));
        if (response.IsSuccessStatusCode && (strategy ?? RolloutStrategy.Immediate).Kind == RolloutKind.Immediate)
            await Serve(version);
        return response;
    }

    /// <summary>The endpoint's replica reports (with its own endpoint-scoped token) that it serves <paramref name="version"/>
    /// at the current revision.</summary>
    public async Task Serve(int version)
    {
        var state = await Viewer.Get<System.Text.Json.JsonElement>($"/api/endpoints/{Endpoint}");
        var sha = (await Viewer.Get<System.Text.Json.JsonElement>($"/api/models/{Model}/versions/{version}")).GetProperty("artifactSha256").GetString()!;
        (await Replica.Send("/api/endpoints/facts/observed", new EndpointStatusReport(Guid.NewGuid(), Endpoint, state.GetProperty("revision").GetInt64(), true, null,
            [new LoadedVersion(version, sha, 100)]))).EnsureSuccessStatusCode();
    }

    /// <summary>The endpoint's serving replica, with the token the control plane issues it.</summary>
    public HttpClient Replica => fx.Client(fx.Tokens.IssueForReplica(Endpoint, $"serve-{Endpoint}", TimeSpan.FromHours(1)));

    /// <summary>Posts an agent's fact with the grant of the work order it is about, as the agent holding that order does.</summary>
    public async Task Fact(string route, EventMlOps.Contracts.ICommand fact) => (await AgentFact(route, fact)).EnsureSuccessStatusCode();

    public Task<HttpResponseMessage> AgentFact(string route, EventMlOps.Contracts.ICommand fact, HttpClient? agent = null) =>
        WithGrant(agent ?? Agent, fact).Send(route, fact);

    public HttpClient WithGrant(HttpClient client, EventMlOps.Contracts.ICommand fact)
    {
        var scope = fact switch
        {
            IRunFact f => Scopes.Run(f.RunId),
            IEndpointFact f => Scopes.Endpoint(f.Endpoint),
            _ => throw new ArgumentException("not a fact about a run or endpoint"),
        };
        var granted = new HttpClient { BaseAddress = client.BaseAddress, Timeout = client.Timeout };
        granted.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
        granted.DefaultRequestHeaders.Add(BusHeaders.GrantHttpHeader, fx.Tokens.IssueGrant(scope, TimeSpan.FromHours(1)));
        return granted;
    }
}
