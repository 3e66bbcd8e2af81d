using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EventMlOps.Agents;
using EventMlOps.Agents.Hosting;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane;
using EventMlOps.Hosting;
using EventMlOps.Local;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventMlOps.Cli.Hosting;

/// <summary><c>emo up</c>: starts the control plane in the background (our own executable with
/// <c>up --foreground</c>, detached, logging to <c>$EMO_HOME/controlplane.log</c>) and returns once it is
/// ready; <c>--foreground</c> runs the host in this process until it is stopped.</summary>
public static class UpCommand
{
    private const int PreferredPort = 5080;

    /// <summary>The local agents' principal: the actor of their facts.</summary>
    public const string AgentsName = "emo-agents";

    /// <summary>The log is kept across starts (a crashed instance's evidence); past this size it moves to <c>.1</c>.</summary>
    private const long LogRotateBytes = 10 * 1024 * 1024;

    public static Command Create()
    {
        var foreground = new Option<bool>("--foreground") { Description = "Run the control plane in this process and stay attached" };
        var port = new Option<int?>("--port") { Description = $"Loopback port (default {PreferredPort}, else a free one; 0 picks a free one)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for readiness", DefaultValueFactory = _ => 180 };
        var command = new Command("up", "Start the local control plane (and its private PostgreSQL) in the background") { foreground, port, timeout };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            if (parse.GetValue(foreground))
                return await RunForegroundAsync(ctx, parse.GetValue(port) ?? LoopbackPort.Choose(PreferredPort), ct);
            var url = await EnsureRunningAsync(ctx, parse.GetValue(port), TimeSpan.FromSeconds(parse.GetValue(timeout)), ct);
            ctx.Out.WriteLine(DashboardLine(ctx, url));
            return 0;
        });
        return command;
    }

    /// <summary>Returns the URL of a ready control plane for this home, starting one when none runs.
    /// Also (re)writes the local admin token, so every other verb works right after.</summary>
    public static async Task<Uri> EnsureRunningAsync(CliContext ctx, int? port, TimeSpan timeout, CancellationToken ct)
    {
        var local = ctx.Local;
        WriteAdminToken(ctx);
        if (local.RunningPid() is { } pid && local.RecordedUrl() is { } recorded)
        {
            var url = new Uri(recorded.TrimEnd('/') + "/");
            if (await ApiClient.IsReadyAsync(url, ct))
            {
                ctx.Out.WriteLine($"control plane already running at {recorded} (pid {pid})");
                return url;
            }
            // Still starting (another `up`, or a slow first PostgreSQL init): wait for it instead of starting a twin.
            await WaitReadyAsync(ctx, pid, url, timeout, ct);
            return url;
        }
        local.Forget();
        var chosen = port is null or 0 ? LoopbackPort.Choose(port is null ? PreferredPort : null) : port.Value;
        var address = $"http://127.0.0.1:{chosen}";
        var started = Launch(ctx, chosen);
        local.Record(started, address);
        var ready = new Uri(address + "/");
        await WaitReadyAsync(ctx, started, ready, timeout, ct);
        return ready;
    }

    /// <summary>The control plane and the agents in this process (two hosts: Wolverine needs one each); stays attached
    /// until SIGTERM / Ctrl+C (the control plane's console lifetime), then stops the agents first.</summary>
    private static async Task<int> RunForegroundAsync(CliContext ctx, int port, CancellationToken ct)
    {
        // The launcher starts the private cluster (unless one is configured); the hosts are given its connection string.
        var store = $"--ConnectionStrings:Marten={await LocalDatabase.ConnectionStringAsync(ctx.Configuration, ct)}";
        string[] settings = [.. ctx.Local.Settings().Select(s => $"--{s.Key}={s.Value}")];
        // MLflow clients put and fetch their runs' artifacts through the control plane (the artifact proxy), in this home's store.
        var app = ControlPlaneApp.Build([$"--urls=http://127.0.0.1:{port}", $"--EMO_HOME={ctx.Home}", store, "--Mlflow:ServeArtifacts=true", .. settings]);
        await app.StartAsync(ct);
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // The agents get a token of their own, never the signing key (they could mint an admin token with it).
        var agentToken = ctx.Tokens.Issue(AgentsName, [Roles.Agent], TimeSpan.FromDays(30));
        using var agents = await AgentsApp.StartAsync([$"--EMO_HOME={ctx.Home}", store, $"--Agents:ControlPlaneUrl={url}", $"--Agents:Token={agentToken}", .. settings], ct);
        ctx.Local.Record(Environment.ProcessId, url);
        ctx.Out.WriteLine($"control plane and agents ready at {url} (pid {Environment.ProcessId}); Ctrl+C stops them");
        try
        {
            await app.WaitForShutdownAsync(ct);
        }
        finally
        {
            await agents.StopAsync(CancellationToken.None);
            ctx.Local.Forget(ownedBy: Environment.ProcessId);
            await app.DisposeAsync();
        }
        return 0;
    }

    /// <summary>Where the dashboard is and how to sign in. The URL carries no token: an address ends up in logs and browser
    /// history, so the person pastes one into the sign-in page instead.</summary>
    public static string DashboardLine(CliContext ctx, Uri url) =>
        $"dashboard {url} (sign in with a token: the admin token in {ctx.Local.TokenFile}, or ./emo token --role viewer --name <you>)";

    private static void WriteAdminToken(CliContext ctx)
    {
        var user = Environment.GetEnvironmentVariable("USER") is { Length: > 0 } u ? u : "local-admin";
        ctx.Local.WriteToken(ctx.Tokens.Issue(user, [Roles.Admin], TimeSpan.FromDays(30)));
    }

    /// <summary>Starts <c>emo up --foreground</c> in its own session (setsid), so it outlives this process and
    /// the terminal's signals; returns its pid. The shell only redirects and reports <c>$!</c>.</summary>
    private static int Launch(CliContext ctx, int port)
    {
        LocalControlPlane.CreateHome(ctx.Home);
        var log = new FileInfo(ctx.Local.LogFile);
        if (log.Exists && log.Length > LogRotateBytes) log.MoveTo(ctx.Local.LogFile + ".1", overwrite: true);
        var (file, prefix) = SelfCommand();
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = ctx.Home };
        foreach (var arg in (string[])["-c", "echo \"=== emo up $(date -u +%FT%TZ) ===\" >>\"$EMO_LOG\"; setsid \"$@\" >>\"$EMO_LOG\" 2>&1 </dev/null & echo $!", "sh", file, .. prefix,
                     "up", "--foreground", "--port", port.ToString(CultureInfo.InvariantCulture), "--home", ctx.Home])
            start.ArgumentList.Add(arg);
        start.Environment["EMO_LOG"] = ctx.Local.LogFile;
        using var shell = Process.Start(start) ?? throw new CliError("could not start /bin/sh");
        var pidText = shell.StandardOutput.ReadToEnd().Trim();
        shell.WaitForExit();
        if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            throw new CliError($"starting the control plane failed: the shell answered '{pidText}'");
        ctx.Out.WriteLine($"starting the control plane on http://127.0.0.1:{port} (pid {pid}, log {ctx.Local.LogFile})");
        return pid;
    }

    private static async Task WaitReadyAsync(CliContext ctx, int pid, Uri url, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var dots = 0;
        ctx.Out.Write("waiting for readiness ");
        while (!await ApiClient.IsReadyAsync(url, ct))
        {
            if (!LocalControlPlane.IsAlive(pid))
            {
                ctx.Out.WriteLine();
                ctx.Local.Forget(ownedBy: pid);
                throw new CliError($"the control plane exited during startup; last lines of {ctx.Local.LogFile}:{Environment.NewLine}{ctx.Local.LogTail()}");
            }
            if (clock.Elapsed > timeout)
            {
                ctx.Out.WriteLine();
                throw new CliError($"the control plane (pid {pid}) is not ready after {timeout.TotalSeconds:0} s; it keeps starting in the background "
                    + $"(check with ./emo status, stop with ./emo down). Last lines of {ctx.Local.LogFile}:{Environment.NewLine}{ctx.Local.LogTail()}");
            }
            if (clock.Elapsed.TotalSeconds >= dots + 1) { ctx.Out.Write('.'); dots++; }
            await Task.Delay(250, ct);
        }
        ctx.Out.WriteLine($" ready at {url.ToString().TrimEnd('/')} ({clock.Elapsed.TotalSeconds:0.0} s)");
    }

    /// <summary>How to run this very CLI again: its apphost, else <c>dotnet emo.dll</c>.</summary>
    private static (string File, string[] Prefix) SelfCommand()
    {
        var dll = typeof(UpCommand).Assembly.Location;
        var host = Environment.ProcessPath;
        if (host is not null && Path.GetFileNameWithoutExtension(host) == "emo")
            return (host, []);
        return (AgentSettings.Dotnet(), [dll]);
    }
}
