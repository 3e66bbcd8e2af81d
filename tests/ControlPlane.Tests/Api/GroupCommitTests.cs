using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.Hosting;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using SessionOptions = Marten.Services.SessionOptions;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>Group commit (<see cref="GroupCommit"/>), on a control plane of its own with one commit lane, so that a batch can
/// be formed on purpose: the lane is held on a row another transaction has locked (a twin of a command, recorded by a
/// transaction that has not committed yet, as a bus delivery of the same command would be), the commands of the batch
/// queue up behind it, and the lock is released.</summary>
public sealed class GroupCommitTests(ControlPlaneFixture fx) : IAsyncLifetime
{
    private const string Schema = "emo_gc";
    private WebApplication _app = null!;
    private Uri _address = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private IDocumentStore Store => _app.Services.GetRequiredService<IDocumentStore>();
    private GroupCommit Committer => _app.Services.GetRequiredService<GroupCommit>();

    public async ValueTask InitializeAsync() => (_app, _address) = await fx.StartWithAddressAsync(Schema, "--Api:CommitLanes=1");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Given_a_batch_of_valid_refused_duplicate_and_stale_commands_When_committed_together_Then_each_gets_its_own_answer_and_only_the_valid_append()
    {
        var s = new Scenario(fx, at: _address);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun());
        var v2 = await s.RegisteredVersion(await s.TrainedRun());
        await s.CreateEndpoint();
        (await s.RollOut(v1)).EnsureSuccessStatusCode();
        await s.Approver.Send("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), s.Model, v2, "fine"));
        var endpointVersion = await StreamVersionAsync(StreamKeys.Endpoint(s.Endpoint));
        endpointVersion.ShouldBeGreaterThan(1);
        var (valid1, valid2, twice) = (Dataset(), Dataset(), Dataset());
        var refused = Dataset("file:///etc/passwd");

        await using var hold = await HoldLaneAsync(s);
        var before = Committer.Committed;
        var sent = new[]
        {
            s.Scientist.Send("/api/datasets", valid1), s.Scientist.Send("/api/datasets", refused), s.Scientist.Send("/api/datasets", twice),
            s.Operator.Send("/api/endpoints/rollout", new RollOut(Guid.NewGuid(), s.Endpoint, v2, RolloutStrategy.Immediate, ExpectedVersion: 1)),
            s.Scientist.Send("/api/datasets", twice), s.Scientist.Send("/api/datasets", valid2),
        };
        await WaitUntilAsync(() => Committer.Queued == sent.Length, "the six commands queued behind the held lane");
        await hold.ReleaseAsync();
        var answers = await Task.WhenAll(sent);

        var after = Committer.Committed;
        (after.Commits - before.Commits).ShouldBe(1, "the six commands were decided in one transaction");
        (after.Commands - before.Commands).ShouldBe(3, "valid1, valid2 and the first of the twins");
        var first = await answers[0].Read<CommandAccepted>();
        (first.Stream, first.Appended, first.Duplicate).ShouldBe((StreamKeys.Dataset(valid1.DatasetId), 1, false));
        (await answers[5].Read<CommandAccepted>()).Stream.ShouldBe(StreamKeys.Dataset(valid2.DatasetId));
        (await answers[1].Problem(400)).GetProperty("detail").GetString()!.ShouldContain("not under a data root");
        var twins = new[] { await answers[2].Read<CommandAccepted>(), await answers[4].Read<CommandAccepted>() };
        twins.Count(t => t.Duplicate).ShouldBe(1, "the second delivery of one command id is a duplicate");
        twins.Select(t => (t.Stream, t.Version)).Distinct().Count().ShouldBe(1, "and answered as the first was");
        (await answers[3].Problem(409)).GetProperty("detail").GetString()!.ShouldContain("changed");
        (await StreamVersionAsync(StreamKeys.Dataset(valid1.DatasetId))).ShouldBe(1);
        (await StreamVersionAsync(StreamKeys.Dataset(valid2.DatasetId))).ShouldBe(1);
        (await StreamVersionAsync(StreamKeys.Dataset(twice.DatasetId))).ShouldBe(1, "one registration for two deliveries");
        (await StreamVersionAsync(StreamKeys.Dataset(refused.DatasetId))).ShouldBe(0);
        (await StreamVersionAsync(StreamKeys.Endpoint(s.Endpoint))).ShouldBe(endpointVersion, "the stale rollout appended nothing");
        (await hold.Blocked).StatusCode.ShouldBe(HttpStatusCode.OK, "the held command's twin committed first: it is answered as a duplicate");
    }

    [Fact]
    public async Task Given_a_concurrent_twin_of_one_command_of_a_batch_When_it_commits_first_Then_only_that_command_is_rolled_back_and_the_rest_commit_together()
    {
        var s = new Scenario(fx, at: _address);
        var (valid1, valid2, contested) = (Dataset(), Dataset(), Dataset());
        var refused = Dataset("file:///etc/passwd");
        await using var hold = await HoldLaneAsync(s);
        await using var rival = await RecordTwinAsync(contested); // a bus delivery of `contested`, mid-transaction
        var before = Committer.Committed;
        var sent = new[] { valid1, contested, valid2, refused }.Select(c => s.Scientist.Send("/api/datasets", c)).ToArray();
        await WaitUntilAsync(() => Committer.Queued == sent.Length, "the four commands queued behind the held lane");

        await hold.ReleaseAsync();
        await WaitUntilAsync(() => Committer.Queued == 0, "the lane took the batch");
        await WaitForLockWaitAsync(); // the batch waits on the rival's idempotency record
        await rival.CommitAsync(Ct);
        var answers = await Task.WhenAll(sent);

        var after = Committer.Committed;
        (after.Commits - before.Commits).ShouldBe(1, "the contested command was rolled back to its savepoint; valid1 and valid2 committed together");
        (after.Commands - before.Commands).ShouldBe(2);
        (await answers[0].Read<CommandAccepted>()).Duplicate.ShouldBeFalse();
        (await answers[1].Read<CommandAccepted>()).Duplicate.ShouldBeTrue("the rival's delivery committed first");
        (await answers[2].Read<CommandAccepted>()).Duplicate.ShouldBeFalse();
        await answers[3].Problem(400);
        (await StreamVersionAsync(StreamKeys.Dataset(valid1.DatasetId))).ShouldBe(1);
        (await StreamVersionAsync(StreamKeys.Dataset(valid2.DatasetId))).ShouldBe(1);
        (await StreamVersionAsync(StreamKeys.Dataset(contested.DatasetId))).ShouldBe(0, "the rival recorded the command and appended nothing");
    }

    [Fact]
    public async Task Given_a_commit_that_fails_after_the_batch_was_decided_When_answered_Then_every_command_of_it_gets_503_and_nothing_is_kept()
    {
        var s = new Scenario(fx, at: _address);
        var (valid1, poisoned, valid2) = (Dataset(), Dataset(), Dataset());
        // A deferred constraint trigger fails the commit itself, after every command of the batch was decided and written.
        await ExecuteAsync($"""
            create function {Schema}.emo_test_poison() returns trigger language plpgsql as $$
            begin if new.id = '{poisoned.CommandId}' then raise exception 'poisoned commit'; end if; return null; end $$;
            create constraint trigger emo_test_poison after insert on {Schema}.mt_doc_handledcommand
              deferrable initially deferred for each row execute function {Schema}.emo_test_poison();
            """);
        try
        {
            await using var hold = await HoldLaneAsync(s);
            var sent = new[] { valid1, poisoned, valid2 }.Select(c => s.Scientist.Send("/api/datasets", c)).ToArray();
            await WaitUntilAsync(() => Committer.Queued == sent.Length, "the three commands queued behind the held lane");
            await hold.ReleaseAsync();
            foreach (var answer in await Task.WhenAll(sent))
                (await answer.Problem(503)).GetProperty("detail").GetString()!.ShouldContain("not committed");
            foreach (var c in new[] { valid1, poisoned, valid2 })
            {
                (await StreamVersionAsync(StreamKeys.Dataset(c.DatasetId))).ShouldBe(0);
                await using var query = Store.QuerySession();
                (await query.LoadAsync<HandledCommand>(c.CommandId, Ct)).ShouldBeNull("no idempotency record: a retry is a first delivery");
            }
        }
        finally
        {
            await ExecuteAsync($"drop trigger emo_test_poison on {Schema}.mt_doc_handledcommand; drop function {Schema}.emo_test_poison()");
        }

        var retried = await (await s.Scientist.Send("/api/datasets", valid1)).Read<CommandAccepted>();
        (retried.Duplicate, retried.Appended).ShouldBe((false, 1));
    }

    [Fact]
    public async Task Given_one_writer_reporting_epochs_in_order_among_concurrent_writers_When_batched_Then_its_stream_keeps_the_order()
    {
        var s = new Scenario(fx, at: _address);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        await s.Fact("/api/runs/facts/started", new TrainingStartedReport(Guid.NewGuid(), request.RunId, DateTimeOffset.UtcNow));
        var before = Committer.Committed;
        using var stop = new CancellationTokenSource();
        var others = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
                (await s.Scientist.Send("/api/datasets", Dataset())).EnsureSuccessStatusCode();
        })).ToArray();

        for (var epoch = 1; epoch <= 40; epoch++)
            await s.Fact("/api/runs/facts/epoch", new EpochReport(Guid.NewGuid(), request.RunId, epoch, new Dictionary<string, double> { ["loss"] = 1.0 / epoch }));
        await stop.CancelAsync();
        await Task.WhenAll(others);

        var after = Committer.Committed;
        (after.Commands - before.Commands).ShouldBeGreaterThan(after.Commits - before.Commits, "commands shared commits");
        await using var query = Store.QuerySession();
        var epochs = (await query.Events.FetchStreamAsync(StreamKeys.Run(request.RunId), token: Ct)).Select(e => e.Data).OfType<EventMlOps.ControlPlane.Training.TrainingEpochCompleted>()
            .Select(e => e.Epoch).ToList();
        epochs.ShouldBe(Enumerable.Range(1, 40).ToList());
    }

    private static RegisterDataset Dataset(string location = "file:///data/u.data") =>
        new(Guid.NewGuid(), Guid.NewGuid(), "ratings", location, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray())),
            "movielens-udata", 100, [new DatasetColumn("user", "int")]);

    private async Task<long> StreamVersionAsync(string stream)
    {
        await using var query = Store.QuerySession();
        return (await query.Events.FetchStreamStateAsync(stream, Ct))?.Version ?? 0;
    }

    /// <summary>Holds the one lane: a command whose twin another transaction recorded and has not committed waits on that
    /// record's row; <see cref="Hold.ReleaseAsync"/> commits the twin (the held command is then answered as a duplicate).</summary>
    private async Task<Hold> HoldLaneAsync(Scenario s)
    {
        var held = Dataset();
        var twin = await RecordTwinAsync(held);
        var blocked = s.Scientist.Send("/api/datasets", held);
        await WaitForLockWaitAsync();
        return new Hold(twin, blocked);
    }

    private sealed class Hold(NpgsqlTransaction twin, Task<HttpResponseMessage> blocked) : IAsyncDisposable
    {
        public Task<HttpResponseMessage> Blocked => blocked;

        public async Task ReleaseAsync()
        {
            await twin.CommitAsync();
            (await blocked).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        public async ValueTask DisposeAsync()
        {
            var connection = twin.Connection;
            await twin.DisposeAsync();
            if (connection is not null) await connection.DisposeAsync();
        }
    }

    /// <summary>Records <paramref name="command"/> as handled in a transaction left open, as the bus's handler of the same
    /// command would mid-way: the caller commits it.</summary>
    private async Task<NpgsqlTransaction> RecordTwinAsync(ICommand command)
    {
        var connection = new NpgsqlConnection(fx.ConnectionString);
        await connection.OpenAsync(Ct);
        var tx = await connection.BeginTransactionAsync(Ct);
        await using var session = Store.LightweightSession(SessionOptions.ForTransaction(tx));
        session.Insert(new HandledCommand(command.CommandId, command.GetType().Name, "bus-delivery", DateTimeOffset.UtcNow, CommandGate.Fingerprint(command)));
        await session.SaveChangesAsync(Ct);
        return tx;
    }

    private async Task WaitForLockWaitAsync() =>
        await WaitUntilAsync(async () => await ScalarAsync($"select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%{Schema}.mt_doc_handledcommand%'") > 0,
            "a statement waiting on a lock");

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); !await condition(); await Task.Delay(20, Ct))
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
                throw new TimeoutException($"waited 20 s for {what}");
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(fx.ConnectionString);
        await connection.OpenAsync(Ct);
        return (long)(await new NpgsqlCommand(sql, connection).ExecuteScalarAsync(Ct))!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(fx.ConnectionString);
        await connection.OpenAsync(Ct);
        await new NpgsqlCommand(sql, connection).ExecuteNonQueryAsync(Ct);
    }
}
