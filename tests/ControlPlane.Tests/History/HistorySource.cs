using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.History;

/// <summary>A store with a lifecycle behind it, exported once for the tests of a class: a dataset, trained runs with their
/// epochs, two versions approved, an endpoint serving the first, a canary of the second promoted, a rollback, an aborted
/// canary and a run still waiting for its agent. <see cref="Moments"/> are sequences along the way.</summary>
public sealed class HistorySource(ControlPlaneFixture fx) : IAsyncLifetime
{
    public HistoryStore Store { get; private set; } = null!;
    public Scenario Lifecycle { get; private set; } = null!;
    public List<long> Moments { get; } = [];
    public Guid WaitingRun { get; private set; }
    public List<Guid> Runs { get; } = [];
    public int V1 { get; private set; }
    public int V2 { get; private set; }

    /// <summary>The whole history, as the export wrote it.</summary>
    public byte[] File { get; private set; } = [];

    public async ValueTask InitializeAsync()
    {
        Store = await HistoryStore.StartAsync(fx);
        var s = Lifecycle = new Scenario(fx, at: Store.Address);
        await s.RegisterDataset();
        foreach (var _ in new[] { 1, 2 }) Runs.Add(await s.TrainedRun());
        V1 = await s.RegisteredVersion(Runs[0]);
        V2 = await s.RegisteredVersion(Runs[1]);
        await s.CreateEndpoint();
        (await s.RollOut(V1)).EnsureSuccessStatusCode();
        Moments.Add(await Store.HeadAsync());
        var canary = new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 0), new CanaryStep(50, 0)]);
        (await s.RollOut(V2, canary)).EnsureSuccessStatusCode();
        Moments.Add(await Store.HeadAsync());
        (await s.Operator.Send("/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), s.Endpoint))).EnsureSuccessStatusCode();
        Moments.Add(await Store.HeadAsync());
        (await s.Operator.Send("/api/endpoints/rollback", new Rollback(Guid.NewGuid(), s.Endpoint, "p95 regression"))).EnsureSuccessStatusCode();
        (await s.RollOut(V2, canary)).EnsureSuccessStatusCode();
        (await s.Operator.Send("/api/endpoints/abort", new AbortRollout(Guid.NewGuid(), s.Endpoint, "not tonight"))).EnsureSuccessStatusCode();
        var waiting = s.Request();
        (await s.Scientist.Send("/api/runs", waiting)).EnsureSuccessStatusCode();
        WaitingRun = waiting.RunId;
        await Store.SettledAsync();
        File = await Store.ExportAsync();
    }

    public async ValueTask DisposeAsync() => await Store.DisposeAsync();
}
