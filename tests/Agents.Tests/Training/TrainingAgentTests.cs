using System.Security.Cryptography;
using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Tests.Testing;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Training;

namespace EventMlOps.Agents.Tests.Training;

/// <summary>The training agent between the real control plane (HTTP API, event store, bus on PostgreSQL) and real
/// trainer processes — here the fake trainer script, which follows emo-train's contract (see Testing/fake-trainer.sh).</summary>
public class TrainingAgentTests(AgentsFixture fx, ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Ratings = "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n";

    [Fact]
    public async Task Given_a_registered_dataset_When_a_run_is_requested_Then_the_agent_trains_it_and_the_run_succeeds_with_its_stored_outputs()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync();
        var dataset = await lab.RegisterFileDatasetAsync(Ratings);

        var runId = await lab.RequestRunAsync(dataset.Id, new() { ["epochs"] = 4, ["epoch_ms"] = 250, ["lr"] = 0.001 });
        var run = await lab.WaitForEndAsync(runId);

        run.Status.ShouldBe(RunStatus.Succeeded, run.FailureReason);
        run.JobName.ShouldBe($"train-{runId:N}");
        run.Epochs.ShouldBe(4);
        run.Metrics!["hr@10"].ShouldBe(0.71);
        run.LastHeartbeatAt.ShouldNotBeNull("heartbeats every 0.5 s while the ~1 s job ran");
        // The model is in the content-addressed store under the sha256 the run reports.
        var model = new Uri(run.ArtifactUri!).LocalPath;
        Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(model, Ct))).ShouldBe(run.ArtifactSha256);
        (await File.ReadAllTextAsync(model, Ct)).ShouldContain(runId.ToString("N"));
        run.Outputs!.Keys.Order().ShouldBe(["baseline", "log", "metrics", "params"]);
        foreach (var output in run.Outputs.Values)
            Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(new Uri(output.Uri).LocalPath, Ct))).ShouldBe(output.Sha256);
        (await File.ReadAllTextAsync(new Uri(run.Outputs["log"].Uri).LocalPath, Ct)).ShouldContain("EMO_EPOCH {\"epoch\":4");

        var events = await lab.EventsAsync(runId);
        events.OfType<TrainingRunSubmitted>().Single().Runtime.ShouldBe("local");
        events.OfType<TrainingRunStarted>().Count().ShouldBe(1);
        events.OfType<TrainingEpochCompleted>().Select(e => e.Epoch).ShouldBe([1, 2, 3, 4]);
        events.OfType<TrainingEpochCompleted>().Last().Metrics["loss"].ShouldBe(0.5);

        // The trainer was given the dataset to fetch and verify itself, its options, and what it needs to publish its
        // outputs and log to the tracking API; what it published was adopted into the store, out of the job's folder.
        var args = (await File.ReadAllTextAsync(Path.Combine(lab.Output(runId), "args.txt"), Ct)).Trim();
        // The dataset is its content: an earlier test may have registered the same ratings from another file.
        var data = args.Split(' ')[2];
        (await File.ReadAllTextAsync(new Uri(data).LocalPath, Ct)).ShouldBe(await File.ReadAllTextAsync(dataset.Path, Ct));
        args.ShouldBe($"fake --data {data} --data-sha256 {dataset.Sha256} --out out --publish --epoch_ms 250 --epochs 4 --lr 0.001 --device cpu");
        run.ArtifactUri!.ShouldNotContain("/agents/jobs/");
        run.Outputs!.Values.ShouldAllBe(o => !o.Uri.Contains("/agents/jobs/"));
        var env = await File.ReadAllLinesAsync(Path.Combine(lab.Output(runId), "env.txt"), Ct);
        env.ShouldContain($"MLFLOW_RUN_ID={runId:N}");
        env.ShouldContain($"MLFLOW_TRACKING_URI={fx.BaseAddress}");
        env.ShouldContain(l => l.StartsWith("MLFLOW_TRACKING_TOKEN=ey", StringComparison.Ordinal));
        env.ShouldContain("OMP_NUM_THREADS=2");
        (await lab.DeadLettersAsync(runId)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_several_quick_runs_at_once_When_they_finish_Then_every_fact_of_each_run_is_recorded_in_order()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync();
        var dataset = await lab.RegisterFileDatasetAsync(Ratings);

        var runIds = new List<Guid>();
        for (var i = 0; i < 6; i++)
            runIds.Add(await lab.RequestRunAsync(dataset.Id, new() { ["epochs"] = 3, ["epoch_ms"] = 1 }));
        foreach (var runId in runIds)
        {
            var run = await lab.WaitForEndAsync(runId);
            run.Status.ShouldBe(RunStatus.Succeeded, run.FailureReason);
            run.JobName.ShouldBe($"train-{runId:N}", "submitted is recorded before started");
            run.Epochs.ShouldBe(3, "every epoch is recorded before the outcome");
            (await lab.DeadLettersAsync(runId)).ShouldBeEmpty();
        }
    }

    [Fact]
    public async Task Given_a_trainer_that_rejects_its_input_When_the_run_is_requested_Then_it_fails_with_the_exit_code_and_the_log_tail()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync();
        var dataset = await lab.RegisterFileDatasetAsync(Ratings);

        var runId = await lab.RequestRunAsync(dataset.Id, new() { ["epochs"] = 2, ["fail_code"] = 2 });
        var run = await lab.WaitForEndAsync(runId);

        run.Status.ShouldBe(RunStatus.Failed);
        run.FailureReason!.ShouldStartWith("the trainer exited with code 2 (bad input); last log lines:");
        run.FailureReason!.ShouldContain("fake-trainer: line 3 of the data is malformed");
        run.FailureReason.ShouldContain("EMO_EPOCH {\"epoch\":2");
        var failed = (await lab.EventsAsync(runId)).OfType<TrainingRunFailed>().Single();
        failed.ExitCode.ShouldBe(2);
        (await lab.JobAsync(runId)).Labels!.ShouldContainKey("eventmlops.io/reported", "kept on the job: a restarted agent reports nothing again");
        (await lab.DeadLettersAsync(runId)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_a_running_job_When_the_run_is_cancelled_Then_its_process_tree_is_killed_and_nothing_more_is_reported()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync();
        output.WriteLine($"{clock.ElapsedMilliseconds} ms: agent started");
        var dataset = await lab.RegisterFileDatasetAsync(Ratings);
        var runId = await lab.RequestRunAsync(dataset.Id, new() { ["hang"] = 1 });
        var trainer = await TrainingLab.PidAsync(Path.Combine(lab.Output(runId), "trainer.pid"));
        var child = await TrainingLab.PidAsync(Path.Combine(lab.Output(runId), "child.pid"));
        output.WriteLine($"{clock.ElapsedMilliseconds} ms: trainer {trainer} runs with child {child}");
        await lab.WaitForAsync(runId, r => r.Status == RunStatus.Running, "running");
        output.WriteLine($"{clock.ElapsedMilliseconds} ms: run is Running");

        (await lab.Scientist.Send("/api/runs/cancel", new CancelTraining(Guid.NewGuid(), runId, "wrong data"))).EnsureSuccessStatusCode();

        for (var deadline = DateTime.UtcNow.AddSeconds(15); (TrainingLab.Alive(trainer) || TrainingLab.Alive(child)) && DateTime.UtcNow < deadline;)
            await Task.Delay(50, Ct);
        output.WriteLine($"{clock.ElapsedMilliseconds} ms: process tree gone");
        TrainingLab.Alive(trainer).ShouldBeFalse("the trainer process is killed");
        TrainingLab.Alive(child).ShouldBeFalse("the trainer's child process is killed with it");
        for (var deadline = DateTime.UtcNow.AddSeconds(10); (await lab.JobAsync(runId)).Labels?.ContainsKey("eventmlops.io/reported") != true && DateTime.UtcNow < deadline;)
            await Task.Delay(50, Ct);
        (await lab.JobAsync(runId)).Labels!["eventmlops.io/reported"].ShouldBe("cancelled");
        await Task.Delay(500, Ct); // anything the agent would (wrongly) report has reached the control plane by now
        var run = await lab.RunAsync(runId);
        run.Status.ShouldBe(RunStatus.Cancelled);
        run.FailureReason.ShouldBe("wrong data");
        var events = await lab.EventsAsync(runId);
        events.OfType<TrainingRunSucceeded>().ShouldBeEmpty();
        events.OfType<TrainingRunFailed>().ShouldBeEmpty();
        (await lab.DeadLettersAsync(runId)).ShouldBeEmpty("the agent reported nothing the control plane refused");
    }

    [Fact]
    public async Task Given_a_job_in_flight_When_the_agent_restarts_Then_the_new_agent_re_adopts_it_and_reports_its_outcome()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync();
        var dataset = await lab.RegisterFileDatasetAsync(Ratings);
        var runId = await lab.RequestRunAsync(dataset.Id, new() { ["epochs"] = 6, ["epoch_ms"] = 500 });
        var trainer = await TrainingLab.PidAsync(Path.Combine(lab.Output(runId), "trainer.pid"));
        await lab.WaitForAsync(runId, r => r.Epochs >= 1, "past its first epoch");

        await lab.StopAgentAsync();
        TrainingLab.Alive(trainer).ShouldBeTrue("the job outlives the agent that started it");
        await lab.StartAgentAsync();
        var run = await lab.WaitForEndAsync(runId);

        run.Status.ShouldBe(RunStatus.Succeeded, run.FailureReason);
        run.Epochs.ShouldBe(6);
        var events = await lab.EventsAsync(runId);
        events.OfType<TrainingEpochCompleted>().Select(e => e.Epoch).ShouldBe([1, 2, 3, 4, 5, 6]);
        events.OfType<TrainingRunSubmitted>().Count().ShouldBe(1, "re-announcing the job appends nothing (deterministic command ids)");
        events.OfType<TrainingRunSucceeded>().Count().ShouldBe(1);
        // Exactly one trainer ran: the restarted agent did not start the job again.
        (await File.ReadAllTextAsync(Path.Combine(lab.Output(runId), "trainer.pid"), Ct)).Trim().ShouldBe(trainer.ToString());
        (await lab.DeadLettersAsync(runId)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Given_a_job_in_flight_When_its_process_dies_while_the_agent_is_down_Then_the_new_agent_fails_the_run_with_the_reason()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync();
        var dataset = await lab.RegisterFileDatasetAsync(Ratings);
        var runId = await lab.RequestRunAsync(dataset.Id, new() { ["hang"] = 1 });
        var child = await TrainingLab.PidAsync(Path.Combine(lab.Output(runId), "child.pid"));
        await lab.WaitForAsync(runId, r => r.Status == RunStatus.Running, "running");

        await lab.StopAgentAsync();
        // The machine's OOM killer, an operator, a reboot: the whole job dies without an exit code.
        var job = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(
            Path.Combine(lab.Home, "agents", "jobs", $"train-{runId:N}", "job.json"), Ct)).RootElement;
        ProcessTable.SignalSession(job.GetProperty("pid").GetInt32(), ProcessTable.SigKill);
        for (var deadline = DateTime.UtcNow.AddSeconds(5); TrainingLab.Alive(child) && DateTime.UtcNow < deadline;) await Task.Delay(20, Ct);
        TrainingLab.Alive(child).ShouldBeFalse();
        await lab.StartAgentAsync();
        var run = await lab.WaitForEndAsync(runId);

        run.Status.ShouldBe(RunStatus.Failed);
        run.FailureReason!.ShouldStartWith("agent restarted and the training process is gone");
        (await lab.EventsAsync(runId)).OfType<TrainingRunFailed>().Single().ExitCode.ShouldBeNull();
    }

    [Fact]
    public async Task Given_a_dataset_under_a_data_root_that_links_to_the_agents_keys_When_a_run_is_requested_Then_nothing_is_read_and_nothing_leaks()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync(RealTrainer());
        const string secret = "c2VjcmV0LWtleS1mb3ItdGhlLWFnZW50cw==";
        Directory.CreateDirectory(Path.Combine(lab.Home, "keys"));
        await File.WriteAllTextAsync(Path.Combine(lab.Home, "keys", "signing.key"), secret, Ct);
        // Lexically under the control plane's data root, really in the agent's keys: only the reader can tell.
        var link = Path.Combine(fx.Data, "link-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateSymbolicLink(link, Path.Combine(lab.Home, "keys"));
        var guessed = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
        var dataset = await lab.RegisterDatasetAsync(new Uri(Path.Combine(link, "signing.key")).AbsoluteUri, guessed, "other");

        var run = await lab.WaitForEndAsync(await lab.RequestRunAsync(dataset, new() { ["epochs"] = 1 }, trainer: "recommender"), seconds: 60);

        run.Status.ShouldBe(RunStatus.Failed);
        run.FailureReason!.ShouldStartWith("the trainer exited with code 2 (bad input)");
        run.FailureReason!.ShouldContain("refusing to read");
        run.FailureReason!.ShouldNotContain(secret[..12]);
        run.FailureReason!.ShouldNotContain(guessed[..12]);
    }

    [Fact]
    public async Task Given_a_fifo_in_a_data_root_When_a_run_is_requested_Then_it_fails_at_once_instead_of_blocking_the_trainer()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync(RealTrainer());
        var fifo = Path.Combine(fx.Data, "fifo-" + Guid.NewGuid().ToString("N")[..8]);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo])) await mkfifo.WaitForExitAsync(Ct);
        var dataset = await lab.RegisterDatasetAsync(new Uri(fifo).AbsoluteUri, new string('a', 64), "other");

        var run = await lab.WaitForEndAsync(await lab.RequestRunAsync(dataset, new() { ["epochs"] = 1 }, trainer: "recommender"), seconds: 60);

        run.Status.ShouldBe(RunStatus.Failed);
        run.FailureReason!.ShouldContain("is not a regular file");
    }

    [Fact]
    public async Task Given_a_dataset_whose_content_does_not_match_its_sha256_When_the_run_is_requested_Then_the_trainer_refuses_it_naming_the_mismatch()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync();
        var claimed = Convert.ToHexStringLower(SHA256.HashData("the content that was registered"u8));
        var dataset = await lab.RegisterFileDatasetAsync(Ratings, claimedSha256: claimed);

        var runId = await lab.RequestRunAsync(dataset.Id, new() { ["epochs"] = 1 });
        var run = await lab.WaitForEndAsync(runId);

        run.Status.ShouldBe(RunStatus.Failed);
        run.FailureReason!.ShouldStartWith("the trainer exited with code 2 (bad input)");
        run.FailureReason!.ShouldContain("does not match the recorded sha256");
        run.FailureReason!.ShouldNotContain(dataset.Sha256, Case.Insensitive, "a digest of data the requester could not read is never disclosed");
        run.Epochs.ShouldBe(0, "nothing was trained on it");
    }

    [Fact]
    public async Task Given_a_generated_dataset_When_a_gpu_run_is_requested_Then_the_trainer_generates_the_data_from_the_uris_parameters_on_cuda()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync();
        var spec = "generate://anomaly?machines=3&days=2&seed=7";
        var datasetId = await lab.RegisterDatasetAsync(spec, Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(spec))));

        var runId = await lab.RequestRunAsync(datasetId, new() { ["epochs"] = 1, ["seed"] = 11 }, trainer: "anomaly", gpus: 2);
        var run = await lab.WaitForEndAsync(runId);

        run.Status.ShouldBe(RunStatus.Succeeded, run.FailureReason);
        (await File.ReadAllTextAsync(Path.Combine(lab.Output(runId), "args.txt"), Ct)).Trim()
            .ShouldBe("anomaly --generate --machines 3 --days 2 --out out --publish --epochs 1 --seed 11 --device cuda");
        (await File.ReadAllLinesAsync(Path.Combine(lab.Output(runId), "env.txt"), Ct)).ShouldContain("CUDA_VISIBLE_DEVICES=0,1");
    }

    [Fact]
    public async Task Given_the_real_emo_train_When_a_small_generated_recommender_run_is_requested_Then_it_succeeds_with_a_verified_onnx_model()
    {
        await using var lab = new TrainingLab(fx);
        await lab.StartAgentAsync(RealTrainer());
        var spec = "generate://recommender?seed=42&users=200&items=300&interactions=6000";
        var datasetId = await lab.RegisterDatasetAsync(spec, Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(spec))));

        var runId = await lab.RequestRunAsync(datasetId, new() { ["epochs"] = 2 }, trainer: "recommender");
        var run = await lab.WaitForEndAsync(runId, seconds: 180);

        run.Status.ShouldBe(RunStatus.Succeeded, run.FailureReason);
        run.Epochs.ShouldBe(2);
        run.Metrics!.Keys.ShouldContain("hr@10");
        var model = await File.ReadAllBytesAsync(new Uri(run.ArtifactUri!).LocalPath, Ct);
        Convert.ToHexStringLower(SHA256.HashData(model)).ShouldBe(run.ArtifactSha256);
        run.Outputs!.Keys.Order().ShouldBe(["baseline", "log", "metrics", "params"]);
        // The trainer published its outputs into a store of its own; the agent adopted them into the shared one.
        (await File.ReadAllTextAsync(new Uri(run.Outputs["log"].Uri).LocalPath, Ct)).ShouldContain("EMO_OUTPUT {\"name\":\"model\"");
        run.ArtifactUri!.ShouldNotContain("/agents/jobs/");
        // The trainer logged to the tracking API with its run-scoped token.
        run.Params.ShouldNotBeEmpty();
    }

    /// <summary>This build's emo-train, which fetches and checks its dataset itself.</summary>
    private static string RealTrainer() => EventMlOps.Testing.TestHost.Built("Training", "emo-train.dll");
}
