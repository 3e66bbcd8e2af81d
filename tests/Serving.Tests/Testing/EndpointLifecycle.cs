using System.Diagnostics;
using System.Security.Cryptography;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Endpoints;

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>Drives the real control plane through its HTTP API as distinct users — alice (scientist), olga (operator),
/// the training agent, victor (viewer) — from a dataset to versions whose artifacts are real models in the shared
/// artifact store, and an endpoint that serves them. Each lifecycle has its own model and endpoint.</summary>
public sealed class EndpointLifecycle
{
    private readonly ControlPlaneFixture _cp;
    private readonly HttpClient _scientist, _approver, _operator, _viewer;
    private bool _created;
    private readonly Guid _dataset = Guid.NewGuid();

    private EndpointLifecycle(ControlPlaneFixture controlPlane)
    {
        _cp = controlPlane;
        (_scientist, _approver, _operator, _viewer) = (_cp.Client(Roles.Scientist, "alice"), _cp.Client(Roles.Approver, "bob"),
            _cp.Client(Roles.Operator, "olga"), _cp.Client(Roles.Viewer, "victor"));
    }

    public string Model { get; } = "rec-" + Guid.NewGuid().ToString("N")[..8];
    public string Endpoint => Model + "-ep";

    /// <summary>A registered dataset for a model of its own; its endpoint is created with the first version (an endpoint
    /// needs a registered model).</summary>
    public static async Task<EndpointLifecycle> StartAsync(ControlPlaneFixture cp)
    {
        var lifecycle = new EndpointLifecycle(cp);
        await Ok(lifecycle._scientist, "/api/datasets", new RegisterDataset(Guid.NewGuid(), lifecycle._dataset, "ratings", "file:///data/u.data",
            Convert.ToHexStringLower(SHA256.HashData(lifecycle._dataset.ToByteArray())), "movielens-udata", 20_000,
            [new DatasetColumn("user", "int"), new DatasetColumn("item", "int")]));
        return lifecycle;
    }

    /// <summary>Stores <paramref name="model"/> in the artifact store, reports a run that produced it (with
    /// <paramref name="claimedSha256"/> in place of its real digest when given) and registers that run as the next
    /// version.</summary>
    public async Task<(int Version, ArtifactRef Artifact)> VersionAsync(string model, string? claimedSha256 = null)
    {
        var artifact = await _cp.Artifacts.PutAsync(model, TestContext.Current.CancellationToken);
        var run = Guid.Empty;
        // Where real agents run beside this lifecycle, their training agent takes the run's work order too and fails it
        // (its dataset is not on disk): a run it failed first is requested again.
        for (var attempt = 1; run == Guid.Empty; attempt++)
        {
            var candidate = Guid.NewGuid();
            await Ok(_scientist, "/api/runs", new RequestTraining(Guid.NewGuid(), candidate, Model, "recommender", _dataset,
                new Dictionary<string, double> { ["epochs"] = 2 }, new TrainingResources(), "git:test"));
            // The training agent's facts, with the grant its work order carries.
            using var agent = _cp.Client(Roles.Agent, "training-agent");
            agent.DefaultRequestHeaders.Add(BusHeaders.GrantHttpHeader, _cp.Grant($"run:{candidate:N}"));
            ICommand[] facts =
            [
                new JobSubmittedReport(Guid.NewGuid(), candidate, $"train-{candidate:N}", "local"),
                new TrainingStartedReport(Guid.NewGuid(), candidate, DateTimeOffset.UtcNow),
                new TrainingSucceededReport(Guid.NewGuid(), candidate, artifact.Uri, claimedSha256 ?? artifact.Sha256, new Dictionary<string, double> { ["hr@10"] = 0.7 }),
            ];
            string[] routes = ["/api/runs/facts/submitted", "/api/runs/facts/started", "/api/runs/facts/succeeded"];
            var failedFirst = false;
            for (var i = 0; i < facts.Length && !failedFirst; i++)
            {
                using var response = await agent.Send(routes[i], facts[i]);
                var body = await response.Content.ReadAsStringAsync();
                failedFirst = attempt < 5 && (int)response.StatusCode == 422 && body.Contains("is already failed", StringComparison.Ordinal);
                if (!failedFirst) response.IsSuccessStatusCode.ShouldBeTrue($"{routes[i]}: {(int)response.StatusCode} {body}");
            }
            if (!failedFirst) run = candidate;
        }
        var accepted = await (await _scientist.Send("/api/models/versions", new RegisterModelVersion(Guid.NewGuid(), Model, run))).Read<CommandAccepted>();
        var version = int.Parse(accepted.Stream[(accepted.Stream.LastIndexOf('@') + 1)..]);
        await Ok(_approver, "/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), Model, version, "four eyes"));
        if (!_created)
        {
            await Ok(_operator, "/api/endpoints", new CreateEndpoint(Guid.NewGuid(), Endpoint, Model));
            _created = true;
        }
        return (version, artifact);
    }

    public Task RollOutAsync(int version, RolloutStrategy? strategy = null) =>
        Ok(_operator, "/api/endpoints/rollout", new RollOut(Guid.NewGuid(), Endpoint, version, strategy ?? RolloutStrategy.Immediate));

    /// <summary>Rolls <paramref name="version"/> out at once and starts emo-serve (agent token <paramref name="name"/>) on the
    /// endpoint; returns once it reported that revision.</summary>
    public async Task<ServingHost> ServingAsync(int version, string name)
    {
        await RollOutAsync(version);
        var serving = await _cp.StartServingAsync(Endpoint, name);
        await ObservedAsync();
        return serving;
    }

    public Task DeleteAsync(string reason) => Ok(_operator, "/api/endpoints/delete", new DeleteEndpoint(Guid.NewGuid(), Endpoint, reason));

    public Task PromoteAsync() => Ok(_operator, "/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), Endpoint));

    public Task<EndpointView> StateAsync() => _viewer.Get<EndpointView>($"/api/endpoints/{Endpoint}");

    /// <summary>The endpoint once a serving process reported its current revision (and <paramref name="until"/> holds);
    /// fails after <paramref name="seconds"/>.</summary>
    public async Task<EndpointView> ObservedAsync(Func<EndpointView, bool>? until = null, double seconds = 10)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var state = await StateAsync();
            if (state.Revision > 0 && state.ObservedRevision == state.Revision && (until?.Invoke(state) ?? true)) return state;
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
                throw new TimeoutException($"no serving report of revision {state.Revision} of {Endpoint} as expected within {seconds} s " +
                    $"(observed {state.ObservedRevision}: ready {state.Ready}, {state.ObservedMessage})");
            await Task.Delay(50);
        }
    }

    private static async Task Ok(HttpClient client, string route, object body)
    {
        using var response = await client.Send(route, body);
        response.IsSuccessStatusCode.ShouldBeTrue($"{route}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
