using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Audit;

public sealed class AuditTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_commands_sent_under_one_correlation_When_the_audit_is_filtered_by_it_Then_exactly_their_events_are_listed()
    {
        var lifecycle = new Lifecycle(cp);
        var correlation = Guid.NewGuid().ToString();
        var registered = (await lifecycle.Alice.RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", "audited", "--correlation", correlation, "--json"))
            .ShouldSucceed();

        var table = (await lifecycle.Alice.RunAsync("audit", "--correlation", correlation)).ShouldSucceed().Out;
        var json = (await lifecycle.Alice.RunAsync("audit", "--correlation", correlation, "--json")).ShouldSucceed().Json();

        table.ShouldContain("SEQ");
        table.ShouldContain($"dataset:{registered.StreamId():N}");
        table.ShouldContain("alice");
        table.Contains(correlation, StringComparison.Ordinal).ShouldBeFalse("the correlation column is -o wide's");
        table.Split('\n').ShouldAllBe(line => line.Length <= 120);
        (await lifecycle.Alice.RunAsync("audit", "--correlation", correlation, "-o", "wide")).ShouldSucceed().Out.ShouldContain(correlation);
        json.GetArrayLength().ShouldBe(1);
        json[0].GetProperty("actor").GetString().ShouldBe("alice");
        json[0].GetProperty("correlationId").GetString().ShouldBe(correlation);
    }

    [Fact]
    public async Task Given_a_follow_tail_When_a_dataset_is_registered_Then_its_event_is_printed_as_it_arrives()
    {
        var viewer = cp.As("vera", Roles.Viewer);
        var output = new SharedWriter();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var tail = viewer.RunAsync(["events", "tail", "--follow", "--limit", "1"], stop.Token, output);
        await Task.Delay(700, TestContext.Current.CancellationToken);

        var registered = (await new Lifecycle(cp).Alice.RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", "tailed", "--json")).ShouldSucceed();
        var stream = $"dataset:{registered.StreamId():N}";
        for (var deadline = DateTime.UtcNow.AddSeconds(10); !output.ToString().Contains(stream) && DateTime.UtcNow < deadline;)
            await Task.Delay(100, TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        var result = await tail;

        output.ToString().ShouldContain(stream);
        result.ExitCode.ShouldBe(0, result.Err);
    }

    [Fact]
    public async Task Given_events_in_the_store_When_tail_runs_without_follow_Then_it_prints_the_latest_oldest_first_and_exits()
    {
        var alice = new Lifecycle(cp).Alice;
        for (var i = 0; i < 3; i++) // at least three events, whatever ran before
            (await alice.RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", $"tail-once-{i}")).ShouldSucceed();

        var lines = (await cp.As("vera", Roles.Viewer).RunAsync("events", "tail", "--limit", "3")).ShouldSucceed()
            .Out.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

        lines.Length.ShouldBe(3);
        var sequences = lines.Select(l => long.Parse(l.TrimStart().Split(' ')[0])).ToList();
        sequences.ShouldBe(sequences.Order().ToList());
        // With --json: JSON Lines, one event per line, the same events.
        var json = (await cp.As("vera", Roles.Viewer).RunAsync("events", "tail", "--limit", "3", "--json")).ShouldSucceed()
            .Out.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        json.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("sequence").GetInt64()).Count().ShouldBe(3);
    }
}
