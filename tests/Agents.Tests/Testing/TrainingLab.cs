using System.Security.Cryptography;
using System.Text;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.Hosting;
using Marten;
using Microsoft.Extensions.Hosting;

namespace EventMlOps.Agents.Tests.Testing;

/// <summary>One test's world: alice (scientist) requests runs over the control plane's HTTP API; a training agent with
/// its own EMO_HOME runs them; the run is read back over HTTP and its events from the store. Disposing stops the agent
/// and kills whatever job it left behind.</summary>
public sealed class TrainingLab(AgentsFixture fx) : IAsyncDisposable
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public HttpClient Scientist { get; } = fx.Client(Roles.Scientist, "alice");
    public string Home { get; } = Path.Combine(fx.Scratch, "agent-" + Guid.NewGuid().ToString("N")[..8]);
    public string Model { get; } = "m" + Guid.NewGuid().ToString("N")[..10];
    public IHost? Agent { get; private set; }

    public async Task<IHost> StartAgentAsync(string? trainer = null, params string[] extra) =>
        Agent = await fx.StartAgentAsync(Home, trainer, extra);

    public async Task StopAgentAsync()
    {
        if (Agent is null) return;
        await Agent.StopAsync(Ct);
        Agent.Dispose();
        Agent = null;
    }

    /// <summary>The run's job as the local runtime holds it (its labels: what the agent remembers of the run).</summary>
    public Task<JobObservation> JobAsync(Guid runId) =>
        new LocalProcessRuntime(Path.Combine(Home, "agents", "jobs"), TimeSpan.Zero).ObserveAsync($"train-{runId:N}", Ct);

    /// <summary>The run's trainer output folder, in its job's working folder (the local runtime's).</summary>
    public string Output(Guid runId) => Path.Combine(new LocalProcessRuntime(Path.Combine(Home, "agents", "jobs"), TimeSpan.Zero).WorkFolder($"train-{runId:N}"), "out");

    /// <summary>Writes a dataset file and registers it; <paramref name="claimedSha256"/> lies about its content when given.</summary>
    public async Task<(Guid Id, string Path, string Sha256)> RegisterFileDatasetAsync(string content, string? claimedSha256 = null)
    {
        var path = System.IO.Path.Combine(fx.Data, "data-" + Guid.NewGuid().ToString("N")[..8] + ".tsv");
        await File.WriteAllTextAsync(path, content, Ct);
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
        var id = await RegisterDatasetAsync(new Uri(path).AbsoluteUri, claimedSha256 ?? sha, "movielens-udata");
        return (id, path, sha);
    }

    /// <summary>The dataset holding this content: the new one, or the one registered before with the same sha256.</summary>
    public async Task<Guid> RegisterDatasetAsync(string uri, string sha256, string format = "other")
    {
        var accepted = await (await Scientist.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), "ratings", uri, sha256, format, 3,
            [new DatasetColumn("user", "int"), new DatasetColumn("item", "int")]))).Read<CommandAccepted>();
        return Guid.ParseExact(accepted.Stream["dataset:".Length..], "N");
    }

    public async Task<Guid> RequestRunAsync(Guid datasetId, Dictionary<string, double> hyperparameters, string trainer = "fake", int gpus = 0)
    {
        var runId = Guid.NewGuid();
        var response = await Scientist.Send("/api/runs", new RequestTraining(Guid.NewGuid(), runId, Model, trainer, datasetId,
            hyperparameters, new TrainingResources(2, 1024, gpus), "git:test"));
        response.IsSuccessStatusCode.ShouldBeTrue(await response.Content.ReadAsStringAsync(Ct));
        return runId;
    }

    public async Task<TrainingRunView> RunAsync(Guid runId) => await (await Scientist.GetAsync($"/api/runs/{runId}", Ct)).Read<TrainingRunView>();

    public async Task<TrainingRunView> WaitForAsync(Guid runId, Func<TrainingRunView, bool> until, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var run = await RunAsync(runId);
            if (until(run)) return run;
            if (DateTime.UtcNow > deadline)
                throw new ShouldAssertException($"run {runId:N} did not become {what} within {seconds} s: {run.Status}, {run.FailureReason}");
            await Task.Delay(100, Ct);
        }
    }

    public Task<TrainingRunView> WaitForEndAsync(Guid runId, int seconds = 30) => WaitForAsync(runId, r => r.IsFinished, "finished", seconds);

    public async Task<IReadOnlyList<object>> EventsAsync(Guid runId)
    {
        await using var session = fx.Store.QuerySession();
        return (await session.Events.FetchStreamAsync(StreamKeys.Run(runId), token: Ct)).Select(e => e.Data).ToList();
    }

    /// <summary>The control plane's refusals of messages about this run (facts it would not accept, e.g. out of order):
    /// an agent that reports correctly causes none.</summary>
    public Task<IReadOnlyList<string>> DeadLettersAsync(Guid runId) => fx.DeadLettersAboutAsync(runId.ToString());

    /// <summary>Waits for a pid file the (fake) trainer writes.</summary>
    public static async Task<int> PidAsync(string file, int seconds = 20)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(seconds); ; await Task.Delay(50, Ct))
        {
            if (File.Exists(file) && int.TryParse((await File.ReadAllTextAsync(file, Ct)).Trim(), out var pid)) return pid;
            if (DateTime.UtcNow > deadline) throw new ShouldAssertException($"{file} was not written within {seconds} s");
        }
    }

    public static bool Alive(int pid) => ProcessTable.IsAlive(pid, null);

    public async ValueTask DisposeAsync()
    {
        await StopAgentAsync();
        var runtime = new LocalProcessRuntime(Path.Combine(Home, "agents", "jobs"), TimeSpan.FromSeconds(1));
        foreach (var job in await runtime.ListAsync(CancellationToken.None))
            if (!job.IsFinished) await runtime.CancelAsync(job.Name, CancellationToken.None);
        Scientist.Dispose();
    }
}
