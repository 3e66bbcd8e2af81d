using System.Text.Json;
using EventMlOps.Cli.Demo;
using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Cli.Tests.Training;

/// <summary><c>emo runs reproduce</c> against the real control plane and the real training agent running the real trainer
/// (small, one-epoch runs): equal metrics on a CPU, the link in the runs and the lineage, and the refusals.</summary>
public sealed class ReproducingRunsTests(ControlPlaneFixture cp)
{
    /// <summary>A MovieLens file large enough for the NCF protocol (more than 99 items), of this test's own content.</summary>
    private static string Ratings()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("emo-cli-repro-").FullName, "u.data");
        MovieLensSample.Write(path, users: 60, items: 150, ratings: 3000, seed: Random.Shared.Next());
        return path;
    }

    /// <summary>A registered file → a succeeded one-epoch run with no seed requested (its trainer tracks the default it used)
    /// → a version; the dataset's file in the artifact store.</summary>
    private static async Task<(Guid Run, string Version, string StoredFile)> TrainedAsync(Lifecycle lifecycle)
    {
        var registered = (await lifecycle.Alice.RunAsync("datasets", "register", Ratings(), "--name", "ratings", "--json")).ShouldSucceed();
        var (run, version) = await lifecycle.TrainedVersionAsync("--dataset", registered.StreamId().ToString());
        var uri = (await lifecycle.Alice.RunAsync("datasets", "show", registered.StreamId().ToString(), "--json")).ShouldSucceed().Json().GetProperty("uri").GetString()!;
        return (run, version, new Uri(uri).LocalPath);
    }

    [Fact]
    public async Task Given_a_run_trained_on_a_cpu_When_reproduced_Then_every_metric_is_equal_the_model_identical_and_lineage_shows_the_link()
    {
        var lifecycle = new Lifecycle(cp);
        var (original, version, stored) = await TrainedAsync(lifecycle);

        var result = (await lifecycle.Alice.RunAsync("runs", "reproduce", original.ToString())).ShouldSucceed();

        var lines = result.Out.Split('\n').Select(l => l.TrimEnd()).ToList();
        lines[0].ShouldBe($"dataset ratings verified: the artifact store holds it with sha256 {Path.GetFileName(stored)}");
        var copy = Guid.Parse(lines[1].Split(' ')[2]);
        lines[1].ShouldBe($"requested run {copy} reproducing run {original} (recommender → {lifecycle.Model}, code dev)");
        foreach (var metric in new[] { "hr@10", "ndcg@10", "loss", "onnx_max_abs_diff" })
            lines.Single(l => l.StartsWith($"  {metric} ")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^3..].ShouldBe(["0", "0", "yes"], metric);
        lines.ShouldContain(l => l.StartsWith("  train_seconds ") && l.EndsWith("(wall clock, not judged)"));
        lines.ShouldContain(l => l.StartsWith("  model        identical bytes (sha256 "));
        lines.ShouldContain(l => l.StartsWith("reproduced: all ") && l.EndsWith(" metrics within 1e-06 relative"));
        lines.ShouldNotContain(l => l.EndsWith("  NO"));

        var shown = (await lifecycle.Bob.RunAsync("runs", "show", copy.ToString(), "--json")).ShouldSucceed().Json();
        shown.GetProperty("hyperparameters").GetProperty("seed").GetDouble().ShouldBe(42); // the seed the trainer tracked, made explicit
        shown.GetProperty("reproducedFrom").GetGuid().ShouldBe(original);
        shown.GetProperty("registrationBlocked").GetString()!.ShouldStartWith($"a reproduction of run {original:N}");
        (await lifecycle.Bob.RunAsync("runs", "show", original.ToString())).ShouldSucceed().Out.ShouldContain($"  reproduced   by run {copy}");
        (await lifecycle.Bob.RunAsync("lineage", version)).ShouldSucceed().Out.ShouldContain($"│   reproduced by run {copy}");
    }

    [Fact]
    public async Task Given_the_dataset_file_altered_or_missing_in_the_artifact_store_When_reproduced_Then_it_is_refused_naming_it_and_no_run_is_requested()
    {
        var lifecycle = new Lifecycle(cp);
        var (original, _, stored) = await TrainedAsync(lifecycle);
        var content = await File.ReadAllBytesAsync(stored, TestContext.Current.CancellationToken);
        try
        {
            await File.WriteAllBytesAsync(stored, [.. content[..^2], (byte)'\n', (byte)'\n'], TestContext.Current.CancellationToken);
            var altered = await lifecycle.Alice.RunAsync("runs", "reproduce", original.ToString());
            File.Delete(stored);
            var missing = await lifecycle.Alice.RunAsync("runs", "reproduce", original.ToString());

            (altered.ExitCode, missing.ExitCode).ShouldBe((2, 2));
            altered.Err.ShouldStartWith($"error: cannot reproduce run {original}: its dataset ratings (");
            var sha = Path.GetFileName(stored); // the store keeps each file under its sha256
            altered.Err.ShouldContain($") at file:///");
            altered.Err.ShouldContain($" was altered: its content no longer has the recorded sha256 {sha}");
            missing.Err.ShouldContain($" is missing from the artifact store (sha256 {sha})");
            (await lifecycle.Alice.RunAsync("runs", "list", "--model", lifecycle.Model, "--json")).ShouldSucceed().Json().GetArrayLength().ShouldBe(1);
        }
        finally
        {
            await File.WriteAllBytesAsync(stored, content, TestContext.Current.CancellationToken); // content-addressed: others may share it
        }
    }

    /// <summary>A history from a GPU cluster (given to the store: the tests' libtorch is the CPU build), reproduced here: the
    /// looser default is said, and the reproduction — which asks for a GPU like its original — fails for want of CUDA, exit 1.</summary>
    [Fact]
    public async Task Given_a_run_trained_on_a_gpu_When_reproduced_where_none_is_Then_the_gpu_tolerance_is_said_and_the_failed_reproduction_exits_1()
    {
        var lifecycle = new Lifecycle(cp);
        var (dataset, original) = (Guid.NewGuid(), Guid.NewGuid());
        var spec = $"generate://recommender?seed={Random.Shared.Next()}";
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(spec)));
        await using (var session = cp.App.Services.GetRequiredService<Marten.IDocumentStore>().LightweightSession())
        {
            session.Events.StartStream(StreamKeys.Dataset(dataset),
                new ControlPlane.Datasets.DatasetRegistered(dataset, "generated-recommender", spec, sha, "generated", 0, [], "alice", DateTimeOffset.UtcNow));
            session.Events.StartStream(StreamKeys.Run(original),
                new ControlPlane.Training.TrainingRunRequested(original, lifecycle.Model, "recommender", dataset, spec, sha,
                    new Dictionary<string, double> { ["epochs"] = 1, ["seed"] = 3 }, new Contracts.Training.TrainingResources(Gpus: 1), "git:abc123", "alice",
                    DateTimeOffset.UtcNow),
                new ControlPlane.Training.TrainingRunSucceeded(original, "file:///cluster/model.onnx", new string('c', 64),
                    new Dictionary<string, double> { ["hr@10"] = 0.61 }, DateTimeOffset.UtcNow));
            await session.SaveChangesAsync(TestContext.Current.CancellationToken);
        }

        var result = await lifecycle.Alice.RunAsync("runs", "reproduce", original.ToString());

        result.ExitCode.ShouldBe(1, result.ToString());
        result.Out.ShouldContain($"run {original} trained on 1 GPU(s): bit-exactness is not expected there (CUDA kernels add in varying order), "
                                 + "so metrics are compared within 0.01 relative");
        result.Out.ShouldContain(" failed: the trainer exited with code 2 (bad input)");
        result.Out.ShouldContain("--device cuda: CUDA is not available here");

        var json = await lifecycle.Alice.RunAsync("runs", "reproduce", original.ToString(), "--json");
        json.ExitCode.ShouldBe(1, json.ToString());
        var report = json.Json();
        (report.GetProperty("originalRunId").GetGuid(), report.GetProperty("status").GetString(), report.GetProperty("reproduced").GetBoolean(),
                report.GetProperty("gpu").GetBoolean(), report.GetProperty("tolerance").GetDouble(), report.GetProperty("metrics").GetArrayLength())
            .ShouldBe((original, "Failed", false, true, 0.01, 0));
        report.GetProperty("reason").GetString()!.ShouldContain("CUDA is not available here");
    }

    [Fact]
    public async Task Given_an_unknown_or_unfinished_run_or_a_viewer_When_reproduced_Then_each_is_refused_with_exit_2()
    {
        var lifecycle = new Lifecycle(cp);
        var registered = (await lifecycle.Alice.RunAsync("datasets", "register", Ratings(), "--name", "ratings", "--json")).ShouldSucceed();
        var unfinished = (await lifecycle.Alice.RunAsync("train", "recommender", "--detach", "--model", lifecycle.Model, "--dataset",
            registered.StreamId().ToString(), "--epochs", "10000", "--json")).ShouldSucceed().StreamId();
        try
        {
            var unknown = await lifecycle.Alice.RunAsync("runs", "reproduce", Guid.NewGuid().ToString());
            var running = await lifecycle.Alice.RunAsync("runs", "reproduce", unfinished.ToString());
            var viewer = await cp.As("vera", Roles.Viewer).RunAsync("runs", "reproduce", unfinished.ToString(), "--no-wait");

            (unknown.ExitCode, running.ExitCode, viewer.ExitCode).ShouldBe((2, 2, 2));
            unknown.Err.ShouldStartWith("error: Unknown run:");
            running.Err.ShouldContain("; only a succeeded run has results to reproduce");
            viewer.Err.ShouldContain("ReproduceRun needs the role 'scientist'");
        }
        finally
        {
            (await lifecycle.Alice.RunAsync("runs", "cancel", unfinished.ToString())).ShouldSucceed();
        }
    }
}
