using System.Diagnostics;
using System.Text;
using System.Text.Json;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Tests.Testing;

namespace EventMlOps.Agents.Tests.Runtime;

/// <summary>The local workload runtime on real processes: bash scripts that print, exit, spawn children, ignore TERM.</summary>
public class LocalProcessRuntimeTests(AgentsFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _root = Path.Combine(fx.Scratch, "runtime-" + Guid.NewGuid().ToString("N")[..8]);

    private LocalProcessRuntime Runtime(double graceSeconds = 2) => new(Path.Combine(_root, "jobs"), TimeSpan.FromSeconds(graceSeconds));

    private JobSpec Bash(string name, string script, JobResources? resources = null,
        Dictionary<string, string>? env = null, Dictionary<string, string>? secrets = null) => new(
        name, "emo-test", "bash", ["-c", script], env ?? [], secrets ?? [], resources ?? new JobResources(1, 256, 0),
        new Dictionary<string, string> { ["eventmlops.io/run-id"] = name });

    private static async Task<JobObservation> UntilAsync(LocalProcessRuntime runtime, string name, Func<JobObservation, bool> until, int seconds = 15)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(seconds); ; await Task.Delay(50, Ct))
        {
            var observed = await runtime.ObserveAsync(name, Ct);
            if (until(observed)) return observed;
            if (DateTime.UtcNow > deadline) throw new ShouldAssertException($"job {name} stayed {observed.Phase} ({observed.Message}) for {seconds} s");
        }
    }

    private int Pid(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "jobs", name, "job.json"))).RootElement.GetProperty("pid").GetInt32();

    private static async Task<int> WaitForPidFileAsync(string file)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(10); ; await Task.Delay(20, Ct))
        {
            if (File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), out var pid)) return pid;
            if (DateTime.UtcNow > deadline) throw new ShouldAssertException($"{file} was not written");
        }
    }

    [Fact]
    public async Task Given_an_agent_running_as_root_When_a_job_runs_Then_it_runs_as_the_unprivileged_account_and_cannot_read_root_secrets()
    {
        var user = JobUser.Resolve(null, [], out var why);
        if (user is null || OperatingSystem.IsWindows()) { Assert.Skip($"jobs keep the agent's account here ({why ?? "the agent is not root"})"); return; }
        Directory.CreateDirectory(Path.Combine(_root, "secrets"));
        var secret = Path.Combine(_root, "secrets", "signing.key");
        File.WriteAllText(secret, "TOP-SECRET-KEY-MATERIAL");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var runtime = new LocalProcessRuntime(Path.Combine(_root, "jobs"), TimeSpan.FromSeconds(2), runAs: user);

        await runtime.SubmitAsync(Bash("job-nobody", $"id -un; echo written > out.txt && echo wrote; cat {secret}; exit 0"), Ct);
        var done = await UntilAsync(runtime, "job-nobody", o => o.IsFinished);

        done.LogTail!.ShouldContain(user.Name);
        done.LogTail!.ShouldContain("wrote", "its working folder is its own");
        File.ReadAllText(Path.Combine(runtime.WorkFolder("job-nobody"), "out.txt")).Trim().ShouldBe("written");
        string.Join('\n', done.LogTail!).ShouldContain("Permission denied");
        string.Join('\n', done.LogTail!).ShouldNotContain("TOP-SECRET");
    }

    [Fact]
    public async Task Given_a_command_When_submitted_Then_it_runs_in_its_own_session_and_its_output_and_exit_code_are_observed()
    {
        var runtime = Runtime();
        var submitted = await runtime.SubmitAsync(Bash("job-a", "echo hello; echo oops >&2; sleep 0.5; exit 3"), Ct);

        submitted.Phase.ShouldBe(JobPhase.Running);
        submitted.StartedAt.ShouldNotBeNull();
        var pid = Pid("job-a");
        ProcessTable.Read(pid)!.Value.Session.ShouldBe(pid, "the job leads its own session: cancelling reaches its whole tree, not the agent's");
        var done = await UntilAsync(runtime, "job-a", o => o.IsFinished);

        done.Phase.ShouldBe(JobPhase.Failed);
        done.ExitCode.ShouldBe(3);
        done.FinishedAt.ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(done.StartedAt!.Value.AddMilliseconds(-1000));
        done.LogTail.ShouldBe(["hello", "oops"]);
        done.Labels!["eventmlops.io/run-id"].ShouldBe("job-a");
        // The log is read through the runtime, from any offset, as a follower reads it while the job runs.
        Encoding.UTF8.GetString((await runtime.ReadLogAsync("job-a", 0, 1 << 20, Ct)).Bytes).ShouldBe("hello\noops\n");
        var rest = await runtime.ReadLogAsync("job-a", 6, 3, Ct);
        (Encoding.UTF8.GetString(rest.Bytes), rest.Offset).ShouldBe(("oop", 9L));
        (await runtime.ReadLogAsync("job-a", 11, 100, Ct)).Bytes.ShouldBeEmpty("at its end");
        (await runtime.ReadLogAsync("job-a", 500, 100, Ct)).Offset.ShouldBe(11, "a log cut shorter than the offset is read from its start again");
    }

    [Fact]
    public async Task Given_a_successful_command_When_it_exits_Then_the_job_succeeded()
    {
        var runtime = Runtime();
        await runtime.SubmitAsync(Bash("job-ok", "true"), Ct);

        var done = await UntilAsync(runtime, "job-ok", o => o.IsFinished);

        done.Phase.ShouldBe(JobPhase.Succeeded);
        done.ExitCode.ShouldBe(0);
        (await runtime.ObserveAsync("job-unknown", Ct)).Phase.ShouldBe(JobPhase.Missing);
    }

    [Fact]
    public async Task Given_a_job_When_it_is_submitted_again_from_this_and_another_runtime_Then_it_is_started_once()
    {
        var counter = Path.Combine(_root, "started.txt");
        var spec = Bash("job-once", $"echo started >> {counter}; sleep 1");

        await Task.WhenAll(
            Runtime().SubmitAsync(spec, Ct), Runtime().SubmitAsync(spec, Ct), Runtime().SubmitAsync(spec, Ct));
        var again = await Runtime().SubmitAsync(spec, Ct);

        again.Phase.ShouldBeOneOf(JobPhase.Running, JobPhase.Succeeded);
        await UntilAsync(Runtime(), "job-once", o => o.IsFinished);
        (await File.ReadAllLinesAsync(counter, Ct)).ShouldBe(["started"]);
    }

    [Fact]
    public async Task Given_a_process_tree_When_cancelled_Then_every_process_of_it_is_gone_and_the_job_is_observed_cancelled()
    {
        var runtime = Runtime();
        var childFile = Path.Combine(_root, "child.pid");
        await runtime.SubmitAsync(Bash("job-tree", $"sleep 300 & echo $! > {childFile}; sleep 300 & wait"), Ct);
        var child = await WaitForPidFileAsync(childFile);
        var leader = Pid("job-tree");

        var clock = Stopwatch.StartNew();
        await runtime.CancelAsync("job-tree", Ct);

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2), "TERM suffices; no need to wait for the grace period");
        ProcessTable.IsAlive(child, null).ShouldBeFalse();
        ProcessTable.IsAlive(leader, null).ShouldBeFalse();
        ProcessTable.LiveInSession(leader).ShouldBeEmpty();
        var observed = await runtime.ObserveAsync("job-tree", Ct);
        observed.Phase.ShouldBe(JobPhase.Failed);
        observed.Cancelled.ShouldBeTrue();
        observed.Message.ShouldBe("cancelled");
        await runtime.CancelAsync("job-tree", Ct); // idempotent
        await runtime.CancelAsync("job-never-submitted", Ct);
    }

    [Fact]
    public async Task Given_a_running_job_When_deleted_Then_its_processes_are_gone_its_name_is_free_for_a_new_job_and_its_log_stays()
    {
        var runtime = Runtime();
        await runtime.SubmitAsync(Bash("job-deleted", "echo first; sleep 300"), Ct);
        var leader = Pid("job-deleted");
        await UntilAsync(runtime, "job-deleted", j => j.LogTail is ["first"]);

        await runtime.DeleteAsync("job-deleted", Ct);

        ProcessTable.LiveInSession(leader).ShouldBeEmpty();
        (await runtime.ObserveAsync("job-deleted", Ct)).Phase.ShouldBe(JobPhase.Missing);
        (await runtime.ListAsync(Ct)).ShouldNotContain(j => j.Name == "job-deleted");
        await runtime.SubmitAsync(Bash("job-deleted", "echo second"), Ct);
        var again = await UntilAsync(runtime, "job-deleted", j => j.IsFinished);
        again.Phase.ShouldBe(JobPhase.Succeeded);
        (again.LogTail![0], again.LogTail[^1]).ShouldBe(("first", "second"), "the same log, appended to");
        await runtime.DeleteAsync("job-never-submitted", Ct);
    }

    [Fact]
    public async Task Given_a_tree_that_ignores_TERM_When_cancelled_Then_it_is_killed_after_the_grace_period()
    {
        var runtime = Runtime(graceSeconds: 0.5);
        var childFile = Path.Combine(_root, "stubborn.pid");
        await runtime.SubmitAsync(Bash("job-stubborn", $"trap '' TERM; sleep 300 & echo $! > {childFile}; wait"), Ct);
        var child = await WaitForPidFileAsync(childFile);

        var clock = Stopwatch.StartNew();
        await runtime.CancelAsync("job-stubborn", Ct);

        clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.5));
        ProcessTable.IsAlive(child, null).ShouldBeFalse();
        ProcessTable.LiveInSession(Pid("job-stubborn")).ShouldBeEmpty();
        (await runtime.ObserveAsync("job-stubborn", Ct)).Cancelled.ShouldBeTrue();
    }

    [Fact]
    public async Task Given_a_job_started_by_another_runtime_When_this_one_observes_and_lists_Then_it_follows_it_to_its_exit_code()
    {
        await Runtime().SubmitAsync(Bash("job-inherited", "sleep 1; exit 0"), Ct);
        var restarted = Runtime(); // as after an agent restart: nothing in memory, only the job folder

        (await restarted.ObserveAsync("job-inherited", Ct)).Phase.ShouldBe(JobPhase.Running);
        (await restarted.ListAsync(Ct)).Select(j => j.Name).ShouldContain("job-inherited");
        await restarted.SubmitAsync(Bash("job-neighbour", "exit 0"), Ct);
        (await restarted.ListAsync(Ct, new Dictionary<string, string> { ["eventmlops.io/run-id"] = "job-inherited" })).Select(j => j.Name)
            .ShouldBe(["job-inherited"], "a selector lists only the jobs carrying its labels");
        (await restarted.ListAsync(Ct, new Dictionary<string, string> { ["eventmlops.io/component"] = "serving" })).ShouldBeEmpty();
        var done = await UntilAsync(restarted, "job-inherited", o => o.IsFinished);

        done.Phase.ShouldBe(JobPhase.Succeeded);
        done.ExitCode.ShouldBe(0);
    }

    [Fact]
    public async Task Given_a_job_whose_processes_were_killed_When_observed_Then_it_failed_without_an_exit_code()
    {
        var runtime = Runtime();
        await runtime.SubmitAsync(Bash("job-killed", "sleep 300"), Ct);
        var leader = Pid("job-killed");

        ProcessTable.SignalSession(leader, ProcessTable.SigKill);
        var observed = await UntilAsync(runtime, "job-killed", o => o.IsFinished);
        // SIGKILL is delivered at once but a process takes a moment to die on a busy machine: allow it a few seconds.
        for (var deadline = DateTime.UtcNow.AddSeconds(5); ProcessTable.LiveInSession(leader).Count > 0 && DateTime.UtcNow < deadline;)
            await Task.Delay(20, Ct);
        ProcessTable.LiveInSession(leader).ShouldBeEmpty("a group kill reaches even a child forked at that very moment");

        observed.Phase.ShouldBe(JobPhase.Failed);
        observed.ExitCode.ShouldBeNull();
        observed.Cancelled.ShouldBeFalse();
        observed.Message!.ShouldContain("gone without an exit code");
    }

    [Fact]
    public async Task Given_resources_settings_and_secrets_When_submitted_Then_the_job_gets_them_but_not_the_agents_environment_and_secrets_are_not_recorded()
    {
        Environment.SetEnvironmentVariable("EMO_AGENT_TEST_PRIVATE", "agent-only");
        var runtime = Runtime();
        var envFile = Path.Combine(_root, "env.txt");

        await runtime.SubmitAsync(Bash("job-env", $"env | sort > {envFile}", new JobResources(3, 512, 2),
            env: new() { ["SETTING"] = "visible" }, secrets: new() { ["TOKEN"] = "s3cret-value" }), Ct);
        await UntilAsync(runtime, "job-env", o => o.IsFinished);

        var env = await File.ReadAllLinesAsync(envFile, Ct);
        env.ShouldContain("CUDA_VISIBLE_DEVICES=0,1");
        env.ShouldContain("OMP_NUM_THREADS=3");
        env.ShouldContain("SETTING=visible");
        env.ShouldContain("TOKEN=s3cret-value");
        env.ShouldContain(l => l.StartsWith("PATH=", StringComparison.Ordinal));
        env.ShouldNotContain(l => l.StartsWith("EMO_AGENT_TEST_PRIVATE", StringComparison.Ordinal));
        var recorded = await File.ReadAllTextAsync(Path.Combine(_root, "jobs", "job-env", "job.json"), Ct);
        recorded.ShouldNotContain("s3cret-value");
        recorded.ShouldContain("TOKEN");
    }

    [Fact]
    public async Task Given_a_name_that_is_not_a_dns_label_When_submitted_Then_it_is_refused()
    {
        await Should.ThrowAsync<ArgumentException>(() => Runtime().SubmitAsync(Bash("../escape", "true"), Ct));
    }

    [Fact]
    public async Task Given_a_job_cancelled_before_it_was_submitted_When_it_is_submitted_later_even_by_a_restarted_runtime_Then_nothing_starts()
    {
        var marker = Path.Combine(_root, "ran.txt");
        await Runtime().CancelAsync("job-early", Ct);

        var restarted = Runtime();
        var submitted = await restarted.SubmitAsync(Bash("job-early", $"echo ran > {marker}"), Ct);

        (submitted.Phase, submitted.Cancelled, submitted.Message).ShouldBe((JobPhase.Failed, true, "cancelled before it started"));
        await Task.Delay(300, Ct);
        File.Exists(marker).ShouldBeFalse("the late submission started no process");
        (await restarted.ListAsync(Ct)).ShouldContain(j => j.Name == "job-early" && j.Cancelled);
    }
}
