using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using EventMlOps.Artifacts;
using EventMlOps.Cli.Audit;
using EventMlOps.Cli.Hosting;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Environments;
using EventMlOps.Contracts.Views;
using EventMlOps.Hosting;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Cli.Environments;

/// <summary><c>emo env rebuild --as-of &lt;time|seq&gt; --home &lt;dir&gt; [--dry-run]</c>: the environment of a past moment,
/// brought back as a running one in a fresh home. The source is the control plane this CLI talks to (--url/--token, else
/// $EMO_URL/$EMO_TOKEN, else the one the source's home runs: --from-home, else $EMO_HOME); --home names the new environment's home. Every artifact the plan needs
/// is verified in the source's artifact store before anything starts; then the history up to that moment is exported,
/// imported into the new home's own control plane, and restored, and the new agents converge the serving replicas.</summary>
public static class EnvCommand
{
    public static Command Create()
    {
        var asOf = AsOfOption.Create();
        asOf.Required = true;
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan and verify the artifacts; start nothing" };
        var fromHome = new Option<string?>("--from-home")
            { Description = "The source's home: its control plane when no --url is given, and its artifact store (default: $EMO_HOME, else ./.emo)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the replicas to converge", DefaultValueFactory = _ => 300 };
        var rebuild = new Command("rebuild", "Rebuild the environment of a past moment in a fresh home (--home): control plane, history, agents, replicas")
            { asOf, dryRun, fromHome, timeout };
        rebuild.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            if (parse.GetResult(parse.RootCommandResult.Command.Options.First(o => o.Name == GlobalOptions.Home)) is null)
                throw CliError.Usage("--home <dir> is required: the new environment's home (a folder that does not exist yet, or is empty)");
            var source = new LocalControlPlane(Path.GetFullPath(parse.GetValue(fromHome) ?? EmoHome.Resolve()));
            if (Path.GetFullPath(source.Home) == ctx.Home)
                throw CliError.Usage($"--home {ctx.Home} is the source's own home: name a new folder");
            if (Directory.Exists(ctx.Home) && Directory.EnumerateFileSystemEntries(ctx.Home).Any())
                throw CliError.Usage($"--home {ctx.Home} is not empty: a rebuild starts from a fresh home");
            return await RebuildAsync(ctx, ctx.ApiOf(source), source, parse.GetValue(asOf)!, parse.GetValue(dryRun),
                TimeSpan.FromSeconds(parse.GetValue(timeout)), ct);
        });
        return new Command("env", "Environments rebuilt from history") { rebuild };
    }

    private static async Task<int> RebuildAsync(CliContext ctx, ApiClient from, LocalControlPlane source, string asOf, bool dryRun, TimeSpan timeout,
        CancellationToken ct)
    {
        using var _ = from;
        var plan = await from.GetAsync<EnvironmentPlan>(ApiClient.Path("/api/environment/plan", ("asOf", asOf)), ct);
        var sourceConfiguration = new ConfigurationBuilder().AddConfiguration(ctx.Configuration).AddInMemoryCollection(source.Settings()!).Build();
        var store = ArtifactStore.FromConfiguration(sourceConfiguration, source.Home);
        var checks = new List<(PlannedArtifact Artifact, string? Problem)>();
        foreach (var artifact in plan.Artifacts)
            checks.Add((artifact, await StoredArtifacts.ProblemAsync(store, artifact.Uri, artifact.Sha256, ct)));
        if (ctx.Json)
            ctx.Out.WriteLine(JsonSerializer.Serialize(new { plan, target = ctx.Home, artifacts = checks.Select(x => new { x.Artifact, ok = x.Problem is null, problem = x.Problem }) },
                new JsonSerializerOptions(ApiClient.Json) { WriteIndented = true }));
        else
            EnvPlanView.Print(ctx.Out, plan, from.BaseUrl, ctx.Home, checks);
        if (checks.Any(x => x.Problem is not null))
            throw new CliError($"{checks.Count(x => x.Problem is not null)} artifact(s) of the plan cannot be used: nothing was started");
        if (dryRun) return 0;

        var clock = Stopwatch.StartNew();
        var (url, restoredAt) = await RestoreAsync(ctx, from, plan, StoreSettings(sourceConfiguration, store), timeout, clock, ct);
        using var to = new ApiClient(url, ctx.Local.RecordedToken(), ctx.CorrelationId);
        foreach (var endpoint in plan.Endpoints)
            await ConvergedAsync(ctx, to, endpoint, restoredAt, clock, timeout, ct);
        ctx.Out.WriteLine($"rebuilt in {clock.Elapsed.TotalSeconds:0.0} s: {url} (home {ctx.Home}; stop it with ./emo down --home {ctx.Home})");
        return 0;
    }

    /// <summary>Makes the home, brings its control plane and agents up and gives them the history up to the plan's moment.
    /// Until the restore is recorded nothing of the new environment is of use: a failure or Ctrl+C stops what was started
    /// and removes the home, so that the same rebuild can simply run again.</summary>
    private static async Task<(Uri Url, DateTimeOffset RestoredAt)> RestoreAsync(CliContext ctx, ApiClient from, EnvironmentPlan plan,
        Dictionary<string, string> settings, TimeSpan timeout, Stopwatch clock, CancellationToken ct)
    {
        var given = Directory.Exists(ctx.Home); // an empty folder the user made stays, emptied
        LocalControlPlane.CreateHome(ctx.Home);
        try
        {
            ctx.Local.WriteSettings(settings);
            var history = Path.Combine(ctx.Home, "history.ndjson");
            Step(ctx, clock, $"exporting events 1..{plan.UntilSequence} from {from.BaseUrl}");
            var head = (await HistoryFile.ExportAsync(from, plan.UntilSequence.ToString(System.Globalization.CultureInfo.InvariantCulture), history, ct)).Hash;
            Step(ctx, clock, "starting the new environment's control plane and agents");
            var url = await UpCommand.EnsureRunningAsync(ctx, port: 0, timeout, ct);
            using var to = new ApiClient(url, ctx.Local.RecordedToken(), ctx.CorrelationId);
            Step(ctx, clock, $"importing the history into {url}");
            await HistoryFile.ImportAsync(to, history, appendAfter: null, ct);
            var restoredAt = DateTimeOffset.UtcNow;
            var restored = await to.SendAsync("/api/environment/restore",
                new RestoreEnvironment(Guid.NewGuid(), plan.UntilSequence, head, from.BaseUrl.ToString()), ct);
            Step(ctx, clock, $"restored as {restored.Stream}; the agents converge {plan.Endpoints.Count} endpoint(s)");
            return (url, restoredAt);
        }
        catch (Exception)
        {
            Step(ctx, clock, $"the rebuild stopped before the history was restored: stopping what it started and removing {ctx.Home}");
            try
            {
                // Not ct: after Ctrl+C it is cancelled, and what was started must still be stopped.
                await DownCommand.StopAsync(ctx, TimeSpan.FromSeconds(30), CancellationToken.None);
                Empty(ctx.Home, keepFolder: given);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException or CliError)
            {
                // The rebuild's own error is the one to report; this one only says what is left.
                ctx.Out.WriteLine($"could not clean up {ctx.Home} ({cleanup.Message}): stop it with ./emo down --home {ctx.Home} and remove it");
            }
            if (Store.ConnectionString(ctx.Configuration) is not null)
                ctx.Out.WriteLine("(its store is the configured PostgreSQL: what was imported into it, if anything, stays there)");
            throw;
        }
    }

    private static void Empty(string home, bool keepFolder)
    {
        if (!keepFolder)
        {
            Directory.Delete(home, recursive: true);
            return;
        }
        foreach (var dir in Directory.EnumerateDirectories(home)) Directory.Delete(dir, recursive: true);
        foreach (var file in Directory.EnumerateFiles(home)) File.Delete(file);
    }

    private static void Step(CliContext ctx, Stopwatch clock, string what)
    {
        ctx.Out.WriteLine($"[{clock.Elapsed.TotalSeconds,5:0.0} s] {what}");
        ctx.Out.Flush();
    }

    /// <summary>The new home reads the source's artifact store: events name artifacts by their URI there (and its sha256),
    /// which history never rewrites.</summary>
    private static Dictionary<string, string> StoreSettings(IConfiguration source, IArtifactStore store)
    {
        var settings = new Dictionary<string, string>();
        if (store is LocalArtifactStore local) settings["Artifacts:Root"] = local.Root;
        foreach (var key in new[] { "Artifacts:S3:Bucket", "Artifacts:S3:Prefix", "Artifacts:S3:ServiceUrl", "Datasets:Roots" })
            if (source[key] is { Length: > 0 } value) settings[key] = value;
        return settings;
    }

    /// <summary>Waits until a replica started here since the restore answers ready and the endpoint reports its desired revision
    /// loaded (the imported history's readiness is the source's, not this environment's), printing what it serves.</summary>
    private static async Task ConvergedAsync(CliContext ctx, ApiClient to, PlannedEndpoint planned, DateTimeOffset restoredAt, Stopwatch clock,
        TimeSpan timeout, CancellationToken ct)
    {
        if (planned.Versions.All(v => v.Weight == 0))
        {
            Step(ctx, clock, $"{planned.Name} served nothing then: no replica to start");
            return;
        }
        var deadline = clock.Elapsed + timeout;
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        while (true)
        {
            var view = await to.GetAsync<EndpointView>($"/api/endpoints/{ApiClient.Segment(planned.Name)}", ct);
            var replicas = (view.Replicas ?? []).Where(r => r.ChangedAt >= restoredAt && r.Url is not null
                                                               && r.LastChange is ReplicaChange.Started or ReplicaChange.Restarted).ToList();
            if (view is { Ready: true } && view.ObservedRevision >= view.Revision && replicas.Count > 0 && await AllReadyAsync(probe, replicas, ct))
            {
                Step(ctx, clock, $"{planned.Name} serves {EnvPlanView.Split(view.Traffic.Select(t => (t.Version, t.Weight)))}: " +
                                 string.Join(", ", replicas.Select(r => $"{r.Name} at {r.Url}")));
                return;
            }
            if (clock.Elapsed > deadline)
                throw new CliError($"{planned.Name} did not converge within {timeout.TotalSeconds:0} s ({view.ObservedMessage ?? "no replica reported yet"}); " +
                                   $"the environment keeps running: ./emo endpoints show {planned.Name} --home {ctx.Home}");
            await Task.Delay(500, ct);
        }
    }

    private static async Task<bool> AllReadyAsync(HttpClient probe, IEnumerable<ReplicaState> replicas, CancellationToken ct)
    {
        foreach (var replica in replicas)
        {
            try
            {
                using var response = await probe.GetAsync(new Uri(new Uri(replica.Url!.TrimEnd('/') + "/"), "health/ready"), ct);
                if (!response.IsSuccessStatusCode) return false;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                return false;
            }
        }
        return true;
    }
}
