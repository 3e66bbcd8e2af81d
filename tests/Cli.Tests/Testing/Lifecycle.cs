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

    /// <summary>Dataset → run → the agent's facts → version 1, registered by alice.</summary>
    public async Task<(Guid Dataset, Guid Run, string Version)> RegisteredVersionAsync()
    {
        var (dataset, _) = await DatasetAsync();
        var (run, version) = await TrainedVersionAsync(dataset);
        return (dataset, run, version);
    }

    /// <summary>Another run on the same dataset, registered as the next version.</summary>
    public async Task<string> SecondVersionAsync(Guid dataset) => (await TrainedVersionAsync(dataset)).Version;

    private async Task<(Guid Run, string Version)> TrainedVersionAsync(Guid dataset)
    {
        var run = await RunAsync(dataset);
        using var agent = new ApiClient(new Uri(cp.Url), cp.Tokens.Issue("agent", [Roles.Agent], TimeSpan.FromHours(1)), Guid.NewGuid().ToString());
        await new SimulatedTrainingAgent(agent, Path.Combine(cp.Home, "artifacts")).TrainAsync(run, Model, 1.0, _ => { }, TestContext.Current.CancellationToken);
        var registered = (await Alice.RunAsync("versions", "register", Model, "--run", run.ToString(), "--json")).ShouldSucceed();
        return (run, registered.Json().GetProperty("stream").GetString()!["model:".Length..]);
    }
}
