using EventMlOps.Cli.Demo;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Testing;

/// <summary>Steps of the lifecycle driven through the CLI, for tests that need a given state first.
/// Each test uses its own model name: all tests share one store.</summary>
public sealed class Lifecycle(ControlPlaneFixture cp)
{
    public EmoUser Alice { get; } = cp.As("alice", Roles.Scientist, Roles.Approver);
    public EmoUser Bob { get; } = cp.As("bob", Roles.Approver);
    public string Model { get; } = "m-" + Guid.NewGuid().ToString("N")[..10];

    public static string RatingsFile(int rows = 50)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("emo-cli-data-").FullName, "u.data");
        MovieLensSample.Write(path, users: 20, items: 30, ratings: rows, seed: Random.Shared.Next());
        return path;
    }

    public async Task<(Guid Id, string File)> DatasetAsync()
    {
        var file = RatingsFile();
        var registered = (await Alice.RunAsync("datasets", "register", file, "--name", "ratings", "--json")).ShouldSucceed();
        return (registered.StreamId(), file);
    }

    public async Task<Guid> RunAsync(Guid dataset) =>
        (await Alice.RunAsync("train", "recommender", "--detach", "--model", Model, "--dataset", dataset.ToString(), "--param", "lr=0.01", "--json"))
        .ShouldSucceed().StreamId();

    /// <summary>A generated dataset → a real (one-epoch) training run by the fixture's agent → version 1, registered by the
    /// registration policy, or by alice when its quality gate blocked the tiny run.</summary>
    public async Task<(Guid Dataset, Guid Run, string Version)> RegisteredVersionAsync()
    {
        var seed = Random.Shared.Next(1, int.MaxValue).ToString(); // a dataset of this test's own
        var (run, version) = await TrainedVersionAsync("--generate", "users=150,items=200,interactions=6000", "--seed", seed);
        var dataset = (await Alice.RunAsync("runs", "show", run.ToString(), "--json")).ShouldSucceed().Json().GetProperty("datasetId").GetGuid();
        return (dataset, run, version);
    }

    /// <summary>Another run on the same dataset, registered as the next version.</summary>
    public async Task<string> SecondVersionAsync(Guid dataset) => (await TrainedVersionAsync("--dataset", dataset.ToString())).Version;

    public async Task<(Guid Run, string Version)> TrainedVersionAsync(params string[] data)
    {
        var trained = (await Alice.RunAsync(["train", "recommender", "--model", Model, "--epochs", "1", "--json", .. data])).ShouldSucceed().Json();
        var run = trained.GetProperty("runId").GetGuid();
        if (trained.GetProperty("registeredVersion").ValueKind == System.Text.Json.JsonValueKind.Number)
            return (run, $"{Model}@{trained.GetProperty("registeredVersion").GetInt32()}");
        var registered = (await Alice.RunAsync("versions", "register", Model, "--run", run.ToString(), "--json")).ShouldSucceed();
        return (run, registered.Json().GetProperty("stream").GetString()!["model:".Length..]);
    }
}
