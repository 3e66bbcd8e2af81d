using System.Diagnostics;
using EventMlOps.Cli.Hosting;
using EventMlOps.Cli.Tests.Testing;

namespace EventMlOps.Cli.Tests.Hosting;

/// <summary>`emo up`, `status` and `down` as real processes (`dotnet emo.dll`): up must detach a control plane that
/// outlives it, and down must stop exactly that one. The database is the test cluster (EMO_POSTGRES), in a schema of its own.</summary>
public sealed class RunningTheControlPlaneTests(ControlPlaneFixture cp)
{
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Given_an_external_database_When_up_status_and_down_run_as_processes_Then_the_control_plane_starts_answers_and_stops()
    {
        var home = Directory.CreateTempSubdirectory("emo-cli-up-").FullName;
        var schema = cp.Schema + "_up";
        var local = new LocalControlPlane(home);
        try
        {
            var up = (await EmoProcessAsync(home, schema, "up", "--timeout", "150")).ShouldSucceed();
            up.Out.ShouldContain("ready at http://127.0.0.1:");
            File.Exists(local.TokenFile).ShouldBeTrue();
            // Secrets closed from their first byte; the home reachable, not listable, by the jobs' account.
            File.GetUnixFileMode(local.TokenFile).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.GetUnixFileMode(Path.Combine(home, "keys", "signing.key")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.GetUnixFileMode(Path.Combine(home, "keys")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.GetUnixFileMode(home).HasFlag(UnixFileMode.OtherRead).ShouldBeFalse();
            var pid = local.RunningPid().ShouldNotBeNull();
            up.Out.ShouldContain($"dashboard {local.RecordedUrl()}/ (sign in with a token: the admin token in {local.TokenFile}", Case.Sensitive);
            using (var browser = new HttpClient())
                (await browser.GetStringAsync(local.RecordedUrl() + "/signin", TestContext.Current.CancellationToken)).ShouldContain("<title>Sign in · EventMlOps</title>");

            var status = (await EmoProcessAsync(home, schema, "status")).ShouldSucceed().Out;
            // The agents beside the control plane beat once as they start, then every 15 s.
            for (var tries = 0; !status.Contains("agents         emo-agents  alive") && tries < 20; tries++)
            {
                await Task.Delay(1000, TestContext.Current.CancellationToken);
                status = (await EmoProcessAsync(home, schema, "status")).ShouldSucceed().Out;
            }
            status.ShouldContain("agents         emo-agents  alive, last beat ");
            status.ShouldContain("jobs on local: 0 unfinished  replicas on local: 0 endpoint(s)");
            status.ShouldContain($"ready  pid {pid}");
            status.ShouldContain("external");
            status.ShouldContain("0 datasets, 0 runs, 0 models, 0 endpoints");
            (await EmoProcessAsync(home, schema, "up")).ShouldSucceed().Out.ShouldContain($"already running at {local.RecordedUrl()} (pid {pid})");
            (await EmoProcessAsync(home, schema, "datasets", "list")).ShouldSucceed().Out.ShouldContain("no datasets registered yet");

            var down = (await EmoProcessAsync(home, schema, "down")).ShouldSucceed().Out;
            down.ShouldContain($"stopping the control plane (pid {pid})");
            // A second start appends to the log: a crashed instance's evidence is kept.
            (await EmoProcessAsync(home, schema, "up", "--timeout", "150")).ShouldSucceed();
            File.ReadAllLines(local.LogFile).Count(l => l.StartsWith("=== emo up ", StringComparison.Ordinal)).ShouldBe(2);
            pid = local.RunningPid().ShouldNotBeNull();
            (await EmoProcessAsync(home, schema, "down")).ShouldSucceed();
            down.ShouldContain("left running");
            LocalControlPlane.IsAlive(pid).ShouldBeFalse();
            File.Exists(local.PidFile).ShouldBeFalse();
            var after = await EmoProcessAsync(home, schema, "status");
            after.ExitCode.ShouldBe(1);
            after.Out.ShouldContain("not running");
        }
        finally
        {
            if (local.RunningPid() is { } left) LocalControlPlane.Kill(left);
            await cp.DropSchemasAsync(schema);
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public async Task Given_a_home_nothing_was_ever_started_from_When_down_runs_Then_it_says_there_is_nothing_to_stop_and_exits_0()
    {
        var home = Path.Combine(Path.GetTempPath(), "emo-never-started-" + Guid.NewGuid().ToString("N"));

        var down = await EmoProcessAsync(home, cp.Schema + "_never", "down");

        down.ExitCode.ShouldBe(0, down.Err);
        down.Out.ShouldBe($"nothing to stop: {home} does not exist, so nothing was started from it (./emo up starts a control plane there)\n");
        down.Err.ShouldBeEmpty();
        Directory.Exists(home).ShouldBeFalse("down creates nothing");
    }

    private Task<EmoResult> EmoProcessAsync(string home, string schema, params string[] args) => cp.ProcessAsync(home, schema, args);
}
