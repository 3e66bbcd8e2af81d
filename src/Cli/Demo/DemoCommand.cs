using System.CommandLine;
using System.Diagnostics;
using EventMlOps.Agents.Hosting;
using EventMlOps.Cli.Bus;
using EventMlOps.Cli.Hosting;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Demo;

/// <summary><c>emo demo</c>: both use cases end to end against a running (or auto-started) control plane with its
/// agents — the recommender (<see cref="RecommenderDemo"/>: training, four-eyes approval, serving, canaries judged on
/// live metrics, an automatic rollback, lineage now and in the past) and the sensor anomaly detector
/// (<see cref="SensorDemo"/>: training, serving, scoring a stream with injected anomalies) — every step narrated,
/// closing with a summary table. What it started itself it stops at the end, unless <c>--keep</c>.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Smaller data, fewer epochs, shorter bakes (for CI)" };
        var keep = new Option<bool>("--keep") { Description = "Leave the control plane, agents and serving replicas running and print their URLs" };
        var connection = new Option<string?>("--connection") { Description = "PostgreSQL the sensor stream is published to (default: $EMO_POSTGRES, else the private cluster of $EMO_HOME)" };
        var schema = new Option<string?>("--schema") { Description = "The control plane's schema (default: Marten:Schema, emo)" };
        var command = new Command("demo",
            "Run both use cases end to end: recommender (train → approve → serve → canary → promote → bad canary → automatic rollback → lineage) "
            + "and sensor anomalies with the closed loop (train → serve → stream over the bus → drift alarm → retrain → approve → canary)")
        {
            quick, keep, connection, schema,
        };
        command.SetAction((parse, ct) => RunAsync(CliContext.From(parse), parse.GetValue(quick), parse.GetValue(keep), parse.GetValue(connection), parse.GetValue(schema), ct));
        return command;
    }

    private static async Task<int> RunAsync(CliContext ctx, bool quick, bool keep, string? connection, string? schema, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var w = ctx.Out;
        var trainer = AgentSettings.Program(ctx.Configuration, "Training:Trainer", "EMO_TRAINER", "emo-train")
            ?? throw new CliError("no trainer to generate the sensor stream with: set EMO_TRAINER to emo-train.dll (./emo does)");
        var startedHere = !ctx.UrlIsExplicit && ctx.Local.RunningPid() is null;
        var url = await ControlPlaneAsync(ctx, ct);
        var tokens = ctx.Tokens;
        ApiClient As(string name, params string[] roles) => new(url, tokens.Issue(name, roles, TimeSpan.FromHours(1)), ctx.CorrelationId);
        using var alice = As("alice", Roles.Scientist, Roles.Approver);
        using var bob = As("bob", Roles.Approver);
        using var olivia = As("olivia", Roles.Operator);
        using var paula = As("paula", Roles.Scientist, Roles.Operator);
        var stage = new DemoStage(w, alice, bob, olivia, paula, quick);
        var bus = await PublishCommand.TargetAsync(ctx, connection, schema, ct);

        w.WriteLine("EventMlOps demo — two use cases, every lifecycle change an event");
        w.WriteLine($"control plane {url.ToString().TrimEnd('/')}; every command below carries correlation id {ctx.CorrelationId}");
        try
        {
            await RecommenderDemo.RunAsync(stage, ct);
            await SensorDemo.RunAsync(stage, trainer, bus, ct);

            stage.Step("summary");
            var table = new Table("use case", "version", "trained with", "offline quality", "rollout", "served (client view)");
            foreach (var r in stage.Summary) table.Row(r.UseCase, r.Version, r.TrainedWith, r.Quality, r.Rollout, r.Served);
            table.WriteTo(w, indent: "    ");
        }
        finally
        {
            // Not ct: after Ctrl+C it is cancelled, and what the demo started must still be stopped.
            await EndAsync(ctx, stage, url, startedHere && !keep, CancellationToken.None);
        }
        w.WriteLine();
        w.WriteLine($"demo done in {clock.Elapsed.TotalSeconds:0.0} s. Explore{(startedHere && !keep ? " (after ./emo up: the history stays in $EMO_HOME)" : "")}: "
            + $"./emo endpoints show {RecommenderDemo.Endpoint} · ./emo lineage --endpoint {RecommenderDemo.Endpoint} · ./emo audit --correlation {ctx.CorrelationId}");
        return 0;
    }

    /// <summary>Stops what the demo started (the control plane, its agents, replicas and PostgreSQL), or says where the
    /// services it leaves running answer.</summary>
    private static async Task EndAsync(CliContext ctx, DemoStage stage, Uri url, bool stop, CancellationToken ct)
    {
        if (stop)
        {
            stage.Step("stopping what the demo started (./emo demo --keep leaves it running)");
            await DownCommand.StopAsync(ctx, TimeSpan.FromSeconds(30), ct);
            return;
        }
        stage.Step("running services");
        stage.Say($"control plane   {url.ToString().TrimEnd('/')}   (dashboard /, API /api, OpenAPI /openapi/v1.json, health /health/ready)");
        foreach (var endpoint in new[] { RecommenderDemo.Endpoint, SensorDemo.Endpoint })
        {
            try
            {
                foreach (var r in (await stage.EndpointAsync(endpoint, ct)).Replicas ?? [])
                    stage.Say($"{endpoint,-15} {r.Url?.TrimEnd('/')}   ({r.Name}; /recommend or /score, /v2/models, /metrics)");
            }
            catch (ApiProblem missing) when (missing.Status == 404)
            {
            }
        }
        stage.Say("stop them with ./emo down");
    }

    /// <summary>An explicitly given control plane must already run; otherwise the local one is started when needed.</summary>
    private static async Task<Uri> ControlPlaneAsync(CliContext ctx, CancellationToken ct)
    {
        if (ctx.UrlIsExplicit)
        {
            var url = ctx.FindUrl()!;
            return await ApiClient.IsReadyAsync(url, ct) ? url : throw new CliError($"the control plane at {url} is not ready");
        }
        return await UpCommand.EnsureRunningAsync(ctx, null, TimeSpan.FromSeconds(180), ct);
    }
}
