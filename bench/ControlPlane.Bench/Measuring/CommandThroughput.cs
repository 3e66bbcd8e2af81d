using EventMlOps.Bench;
using System.Security.Cryptography;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Training;
using EventMlOps.ControlPlane.WorkOrders;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using EventMlOps.ControlPlane.Bench.Seeding;
using EventMlOps.ControlPlane.Commanding;
using Wolverine;

namespace EventMlOps.ControlPlane.Bench.Measuring;

/// <summary>
/// Commands/s for two representative commands, each through three paths so that the cost of every layer shows:
/// <list type="bullet">
/// <item>Marten only (baseline): the same decision and the same events through FetchForWriting + append +
/// inline snapshot + SaveChanges, without HTTP, Wolverine or the command gate;</item>
/// <item>Wolverine InvokeAsync in-process: the product's handler chain with the command gate (JWT check,
/// role, idempotency record, actor/correlation stamping) and a transaction per command, without HTTP — the path of
/// commands on the bus, and of HTTP commands before group commit;</item>
/// <item>HTTP end to end: POST to the real Kestrel endpoint, as an agent or a scientist would: the same gate and
/// handler, decided and committed with the other commands that arrived meanwhile (GroupCommit).</item>
/// </list>
/// EpochReport is the hot path of a control plane (training agents report every epoch): each client
/// owns one running run and reports its next epoch, which appends a TrainingEpochCompleted and updates the
/// inline TrainingRun snapshot. RegisterDataset starts a new stream (a new snapshot document) per command.
/// </summary>
public static class CommandThroughput
{
    private static readonly IReadOnlyDictionary<string, double> Metrics =
        new Dictionary<string, double> { ["loss"] = 0.231, ["val_loss"] = 0.262, ["hr@10"] = 0.684, ["ndcg@10"] = 0.411 };

    private static readonly IReadOnlyList<DatasetColumn> Columns = [new("user_id", "int64"), new("item_id", "int64"), new("label", "float32")];

    public const string Baseline = "Marten only (baseline)";
    public const string InProcess = "Wolverine in-process";

    public static async Task<IReadOnlyList<Measurement>> RunAsync(BenchHost host, string connectionString, BenchOptions options, TextWriter output,
        CancellationToken ct)
    {
        var store = host.Store;
        var duration = TimeSpan.FromSeconds(options.Seconds);
        var clients = options.Clients.Max();
        using var scientist = host.Client("alice", Roles.Scientist);
        var agentToken = host.Token("training-agent", Roles.Agent);
        var scientistToken = host.Token("alice", Roles.Scientist);

        // One running run per client, requested and started through the API like any other; its agent reports with the
        // run's grant, as a work order gives it.
        var datasetId = await SomeDatasetAsync(store, scientist, ct);
        var runs = new Guid[clients];
        var grants = new string[clients];
        var agents = new HttpClient[clients];
        var epochs = new int[clients];
        for (var i = 0; i < clients; i++)
        {
            runs[i] = Guid.NewGuid();
            grants[i] = host.Tokens.ForRun(runs[i]);
            agents[i] = host.Client("training-agent", Roles.Agent);
            agents[i].DefaultRequestHeaders.Add(BusHeaders.GrantHttpHeader, grants[i]);
            await BenchHost.SendAsync(scientist, "/api/runs", new RequestTraining(Guid.NewGuid(), runs[i], "bench-load", EventMlOps.Contracts.Training.TrainerCatalog.Recommender, datasetId,
                new Dictionary<string, double> { ["epochs"] = 10_000, ["lr"] = 0.001 }, new TrainingResources(4, 8192, 1), "git:bench"), ct);
            await BenchHost.SendAsync(agents[i], "/api/runs/facts/submitted", new JobSubmittedReport(Guid.NewGuid(), runs[i], $"train-{runs[i]:N}", "kubernetes"), ct);
            await BenchHost.SendAsync(agents[i], "/api/runs/facts/started", new TrainingStartedReport(Guid.NewGuid(), runs[i], DateTimeOffset.UtcNow), ct);
        }

        EpochReport NextEpoch(int i) => new(Guid.NewGuid(), runs[i], ++epochs[i], Metrics);

        var paths = new (string Subject, string Path, Func<int, CancellationToken, Task> Operation)[]
        {
            ("EpochReport", Baseline, (i, token) =>
                MartenOnlyAsync<TrainingRun>(store, "training-agent", StreamKeys.Run(runs[i]),
                    run => TrainingDecisions.Epoch(run, NextEpoch(i), DateTimeOffset.UtcNow), token)),
            ("EpochReport", InProcess, (i, token) => InvokeAsync(host, agentToken, grants[i], NextEpoch(i), token)),
            ("EpochReport", "HTTP POST /api/runs/facts/epoch", async (i, token) =>
                Expect(await BenchHost.SendAsync(agents[i], "/api/runs/facts/epoch", NextEpoch(i), token))),
            ("RegisterDataset", Baseline, (_, token) =>
            {
                var c = NewDataset();
                return MartenOnlyAsync<Dataset>(store, "alice", StreamKeys.Dataset(c.DatasetId),
                    d => DatasetDecisions.Register(d, c, new DataLocations([]), EventMlOps.Contracts.Training.TrainerCatalog.BuiltIn, "alice", DateTimeOffset.UtcNow), token);
            }),
            ("RegisterDataset", InProcess, (_, token) => InvokeAsync(host, scientistToken, null, NewDataset(), token)),
            ("RegisterDataset", "HTTP POST /api/datasets", async (_, token) =>
                Expect(await BenchHost.SendAsync(scientist, "/api/datasets", NewDataset(), token))),
        };

        var results = new List<Measurement>();
        foreach (var subject in paths.Select(p => p.Subject).Distinct())
            foreach (var c in options.Clients)
                foreach (var (s, path, operation) in paths.Where(p => p.Subject == subject))
                {
                    // Over HTTP each command holds a savepoint, whose subtransaction takes a transaction id of its own: the
                    // group commit counts its commits itself.
                    var commits = new CommitCount(path.StartsWith("HTTP", StringComparison.Ordinal)
                        ? () => Task.FromResult(host.App.Services.GetRequiredService<GroupCommit>().Committed.Commits)
                        : () => Sql.ScalarAsync<long>(connectionString, CommitCount.NextTransactionId, ct));
                    var m = await Load.RunAsync(s, path, c, duration, operation, ct);
                    m = m with { CommitsPerSecond = await commits.Stop() };
                    output.WriteLine($"  {s,-16} {path,-34} {c,3} clients: {m.PerSecond,8:N0} cmd/s  p50 {m.P50Ms,7:N2} ms  p99 {m.P99Ms,7:N2} ms  errors {m.Errors}  " +
                                     $"commits/s {m.CommitsPerSecond:N0}  cpu % bench/pg/other {m.Cpu}");
                    results.Add(m);
                }
        foreach (var a in agents) a.Dispose();
        return results;
    }

    /// <summary>Commits per second, from a counter read at the start and at the end: for the paths with a transaction per
    /// command, write transactions in the database cluster (<see cref="NextTransactionId"/>); over HTTP, the group
    /// commit's own count of its commits.</summary>
    private sealed class CommitCount(Func<Task<long>> read)
    {
        /// <summary>The next transaction id, which only a transaction that writes is given (reads, however many, take none) —
        /// every client's, the control plane's own background work included. Exact, unlike <c>pg_stat_database</c>, whose
        /// counters lag and count reads too.</summary>
        public const string NextTransactionId = "select pg_snapshot_xmax(pg_current_snapshot())::text::bigint";

        private readonly Task<long> _start = read();
        private readonly long _at = System.Diagnostics.Stopwatch.GetTimestamp();

        public async Task<double> Stop() => (await read() - await _start) / System.Diagnostics.Stopwatch.GetElapsedTime(_at).TotalSeconds;
    }

    /// <summary>The product's storage work for one command, and nothing else.</summary>
    private static async Task MartenOnlyAsync<T>(IDocumentStore store, string actor, string stream, Func<T?, object[]> decide, CancellationToken ct)
        where T : class
    {
        await using var session = store.LightweightSession();
        session.LastModifiedBy = actor;
        session.CorrelationId = Guid.NewGuid().ToString();
        session.CausationId = Guid.NewGuid().ToString();
        var target = await session.Events.FetchForWriting<T>(stream, ct);
        var events = decide(target.Aggregate);
        if (events.Length != 1) throw new InvalidOperationException($"expected one event on {stream}, the decision gave {events.Length}");
        target.AppendMany(events);
        await session.SaveChangesAsync(ct);
    }

    /// <summary>What a bus message gets: the sender's token (and a fact's grant) in the envelope, the gate, the handler,
    /// one transaction.</summary>
    private static async Task InvokeAsync(BenchHost host, string token, string? grant, ICommand command, CancellationToken ct)
    {
        using var scope = host.App.Services.CreateScope();
        var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
        var delivery = new DeliveryOptions();
        delivery.Headers[BusHeaders.Token] = token;
        if (grant is not null) delivery.Headers[BusHeaders.Grant] = grant;
        Expect(await bus.InvokeAsync<CommandAccepted>(command, delivery, ct));
    }

    private static void Expect(CommandAccepted accepted)
    {
        if (accepted.Appended != 1 || accepted.Duplicate)
            throw new InvalidOperationException($"command {accepted.CommandId} appended {accepted.Appended} events (duplicate: {accepted.Duplicate}); expected 1");
    }

    /// <summary>Generated data: a URI any control plane accepts without a data root or an artifact bucket configured. New
    /// content every time (a dataset is its content: the same content is answered as already registered), also across
    /// the runs on one store: a 31-bit seed alone repeats after ~10⁵ registrations.</summary>
    private static RegisterDataset NewDataset()
    {
        var uri = $"generate://recommender?interactions=1000000&items=5000&seed={Random.Shared.Next()}&users={Random.Shared.Next(20_000, 10_000_000)}";
        return new(Guid.NewGuid(), Guid.NewGuid(), "bench-load-data", uri, Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(uri))),
            "generated", 1_000_000, Columns);
    }

    private static async Task<Guid> SomeDatasetAsync(IDocumentStore store, HttpClient scientist, CancellationToken ct)
    {
        await using (var session = store.QuerySession())
            if (await session.Query<Dataset>().Where(d => d.Name != "bench-load-data").FirstOrDefaultAsync(ct) is { } seeded)
                return seeded.DatasetId;
        var c = NewDataset();
        await BenchHost.SendAsync(scientist, "/api/datasets", c, ct);
        return c.DatasetId;
    }
}
