using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>Two control planes on one store (as two replicas of its Deployment): commands through either, and each work
/// order reaches the agents' queue exactly once — one of them leads the async daemon and its subscription.</summary>
public sealed class ReplicasTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_two_control_planes_on_one_store_When_runs_are_requested_through_both_Then_each_work_order_is_sent_once()
    {
        const string schema = "emo_two";
        await using var first = await fx.StartAsync(schema);
        await using var second = await fx.StartAsync(schema);
        HttpClient Client(Microsoft.AspNetCore.Builder.WebApplication app)
        {
            var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", fx.Tokens.Issue("alice", [Roles.Scientist], TimeSpan.FromMinutes(5)));
            return client;
        }
        var (a, b) = (Client(first), Client(second));
        var dataset = Guid.NewGuid();
        (await a.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), dataset, "twice", "s3://bucket/twice.csv", new string('d', 64), "csv", 1, [])))
            .EnsureSuccessStatusCode();

        var runs = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid()).ToList();
        for (var i = 0; i < runs.Count; i++)
            (await (i % 2 == 0 ? a : b).Send("/api/runs", new RequestTraining(Guid.NewGuid(), runs[i], "twice", "recommender", dataset,
                new Dictionary<string, double> { ["epochs"] = 1 }, new TrainingResources(), "git:x"))).EnsureSuccessStatusCode();

        (await Lineage.LifecycleTests.Eventually(async () => (await CountsAsync(schema, runs)).All(c => c >= 1), seconds: 60))
            .ShouldBeTrue("every run's work order was sent");
        await Task.Delay(TimeSpan.FromSeconds(3), Ct); // time for a second, duplicate send to show up
        (await CountsAsync(schema, runs)).ShouldAllBe(c => c == 1);
    }

    private async Task<long[]> CountsAsync(string schema, IEnumerable<Guid> runs)
    {
        await using var conn = new Npgsql.NpgsqlConnection(fx.ConnectionString);
        await conn.OpenAsync(Ct);
        var counts = new List<long>();
        foreach (var run in runs)
        {
            await using var cmd = new Npgsql.NpgsqlCommand($"select count(*) from {schema}_queues.wolverine_queue_emo_agents where position(@run in body) > 0", conn);
            cmd.Parameters.AddWithValue("run", System.Text.Encoding.UTF8.GetBytes(run.ToString()));
            counts.Add((long)(await cmd.ExecuteScalarAsync(Ct))!);
        }
        return [.. counts];
    }
}
