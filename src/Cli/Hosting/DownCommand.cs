using System.CommandLine;
using System.Diagnostics;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;
using EventMlOps.Hosting;
using EventMlOps.Local;

namespace EventMlOps.Cli.Hosting;

/// <summary><c>emo down</c>: stops the control plane `up` started (with its agents), the serving replicas they ran,
/// then the private PostgreSQL cluster (never a configured external database).</summary>
public static class DownCommand
{
    public static Command Create()
    {
        var wait = new Option<int>("--timeout") { Description = "Seconds to wait for a graceful stop before killing", DefaultValueFactory = _ => 30 };
        var command = new Command("down", "Stop the local control plane, its agents and serving replicas, and its private PostgreSQL") { wait };
        command.SetAction(async (parse, ct) =>
        {
            await StopAsync(CliContext.From(parse), TimeSpan.FromSeconds(parse.GetValue(wait)), ct);
            return 0;
        });
        return command;
    }

    public static async Task StopAsync(CliContext ctx, TimeSpan timeout, CancellationToken ct)
    {
        if (!Directory.Exists(ctx.Home))
        {
            ctx.Out.WriteLine($"nothing to stop: {ctx.Home} does not exist, so nothing was started from it (./emo up starts a control plane there)");
            return;
        }
        await StopControlPlaneAsync(ctx, timeout, ct);
        // Replicas outlive the agents that started them; the next `up` restarts them for their endpoints.
        var replicas = await LocalServingRuntime.StopAllAsync(LocalProcessRuntime.ForHome(ctx.Home, TimeSpan.FromSeconds(10)), ct);
        ctx.Out.WriteLine(replicas.Count == 0 ? "serving replicas: none running" : $"stopped serving replicas: {string.Join(", ", replicas)}");
        if (Store.ConnectionString(ctx.Configuration) is not null)
            ctx.Out.WriteLine("PostgreSQL is configured externally (EMO_POSTGRES / ConnectionStrings__Marten): left running");
        else if (LocalPostgres.IsRunning(ctx.Local.PostgresRoot))
        {
            await LocalPostgres.StopAsync(ctx.Local.PostgresRoot);
            ctx.Out.WriteLine($"stopped PostgreSQL ({ctx.Local.PostgresRoot})");
        }
        else
            ctx.Out.WriteLine("PostgreSQL: not running");
    }

    private static async Task StopControlPlaneAsync(CliContext ctx, TimeSpan timeout, CancellationToken ct)
    {
        if (ctx.Local.RunningPid() is not { } pid)
        {
            ctx.Local.Forget();
            ctx.Out.WriteLine("control plane: not running");
            return;
        }
        ctx.Out.Write($"stopping the control plane (pid {pid}) ");
        LocalControlPlane.Terminate(pid);
        var clock = Stopwatch.StartNew();
        while (LocalControlPlane.IsAlive(pid) && clock.Elapsed < timeout)
        {
            await Task.Delay(250, ct);
            if (clock.ElapsedMilliseconds % 1000 < 250) ctx.Out.Write('.');
        }
        if (LocalControlPlane.IsAlive(pid))
        {
            LocalControlPlane.Kill(pid);
            ctx.Out.WriteLine($" killed after {timeout.TotalSeconds:0} s without a graceful stop");
        }
        else
            ctx.Out.WriteLine($" stopped ({clock.Elapsed.TotalSeconds:0.0} s)");
        ctx.Local.Forget(ownedBy: pid);
    }
}
