using EventMlOps.Client;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Tests.Lineage;
using EventMlOps.ControlPlane.Tests.Testing;
using Marten;
using System.Text.Json;
using EventMlOps.Hosting;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Wolverine;
using Wolverine.RabbitMQ;
using Wolverine.Util;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>A MassTransit 8 service and a Wolverine service publish commands on the control plane's RabbitMQ queue (through
/// EventMlOps.Client) and await their answers: the same events as the HTTP call, under the publisher's actor and correlation;
/// refusals answered with the HTTP status and reason; duplicates answered as such.</summary>
public sealed class PublisherAnswersTests(ControlPlaneFixture fx) : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private WebApplication _controlPlane = null!;
    private Uri _address = null!;
    private IBusControl _bus = null!;
    private IHost _wolverine = null!;
    private string _rabbitMq = null!;
    private static readonly JsonSerializerOptions WireOptions = Wire();
    private IDocumentStore Store => _controlPlane.Services.GetRequiredService<IDocumentStore>();

    public async ValueTask InitializeAsync()
    {
        // A virtual host of its own: no other test's control plane consumes this command queue.
        var uri = _rabbitMq = await RabbitMq.VirtualHostAsync("emo-bus-publishers");
        (_controlPlane, _address) = await fx.StartWithAddressAsync("emo_mt", $"--Bus:RabbitMq={uri}");
        _bus = await MassTransitTestBus.StartAsync(uri);
        _wolverine = await BusTests.StartClientAsync(opts =>
        {
            opts.UseRabbitMq(new Uri(uri)).AutoProvision();
            opts.PublishMessage<RegisterDataset>().ToRabbitQueue(BusHeaders.ControlPlaneQueue);
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync(CancellationToken.None);
        await _wolverine.StopAsync(CancellationToken.None);
        _wolverine.Dispose();
        await _controlPlane.StopAsync(CancellationToken.None);
        await _controlPlane.DisposeAsync();
    }

    public static TheoryData<string> Publishers => [MassTransitKind, WolverineKind];
    private const string MassTransitKind = "MassTransit", WolverineKind = "Wolverine";

    [Theory, MemberData(nameof(Publishers))]
    public async Task Given_a_publisher_When_it_requests_a_command_Then_the_http_calls_events_are_appended_under_its_actor_and_correlation(string publisher)
    {
        var viaHttp = Dataset(publisher.ToLowerInvariant() + "-via-http");
        (await fx.Client(Roles.Scientist, "alice", _address).Send("/api/datasets", viaHttp)).EnsureSuccessStatusCode();
        var viaBus = Dataset(publisher.ToLowerInvariant() + "-via-bus");
        var correlation = Guid.NewGuid();

        var outcome = await Request(publisher, viaBus, Token("bus-service", Roles.Scientist), correlation);

        outcome.ShouldBe(new CommandOutcome(viaBus.CommandId, nameof(RegisterDataset), "accepted", StreamKeys.Dataset(viaBus.DatasetId), 1, 1));
        await using var session = Store.QuerySession();
        var busEvent = (await session.Events.FetchStreamAsync(StreamKeys.Dataset(viaBus.DatasetId), token: Ct)).Single();
        var httpEvent = (await session.Events.FetchStreamAsync(StreamKeys.Dataset(viaHttp.DatasetId), token: Ct)).Single();
        busEvent.UserName.ShouldBe("bus-service");
        busEvent.CorrelationId.ShouldBe(correlation.ToString());
        busEvent.CausationId.ShouldBe(viaBus.CommandId.ToString());
        var registered = busEvent.Data.ShouldBeOfType<DatasetRegistered>();
        registered.ShouldBeEquivalentTo(((DatasetRegistered)httpEvent.Data) with
        {
            DatasetId = viaBus.DatasetId, Name = viaBus.Name, Uri = viaBus.Uri, Sha256 = viaBus.Sha256, RegisteredBy = "bus-service",
            RegisteredAt = registered.RegisteredAt,
        });
    }

    [Theory, MemberData(nameof(Publishers))]
    public async Task Given_a_sender_without_the_role_or_with_a_bad_uri_When_it_requests_Then_it_is_answered_with_the_http_status_and_reason_and_nothing_is_appended_or_dead_lettered(string publisher)
    {
        foreach (var (command, role) in new[] { (Dataset(publisher.ToLowerInvariant() + "-viewer"), Roles.Viewer), (Dataset(publisher.ToLowerInvariant() + "-loot") with { Uri = "file:///etc/passwd" }, Roles.Scientist) })
        {
            var problem = await (await fx.Client(role, "mallory", _address).Send("/api/datasets", command with { CommandId = Guid.NewGuid() }))
                .Problem(role == Roles.Viewer ? 403 : 400);

            var outcome = await Request(publisher, command, Token("mallory", role));

            outcome.ShouldBe(new CommandOutcome(command.CommandId, nameof(RegisterDataset), "refused", Status: problem.GetProperty("status").GetInt32(),
                Reason: problem.GetProperty("detail").GetString()));
            await using var session = Store.QuerySession();
            (await session.Events.FetchStreamStateAsync(StreamKeys.Dataset(command.DatasetId), Ct)).ShouldBeNull();
            (await fx.Client(Roles.Viewer, "victor", _address).Get<CommandOutcome>($"/api/commands/{command.CommandId}")).State.ShouldBe("refused");
            (await DeadLettersAbout(command.DatasetId)).ShouldBe(0, "an answered refusal is not dead-lettered");
        }
    }

    [Theory, MemberData(nameof(Publishers))]
    public async Task Given_a_handled_command_When_the_publisher_sends_it_again_Then_it_is_answered_as_a_duplicate_with_the_first_answer(string publisher)
    {
        var command = Dataset(publisher.ToLowerInvariant() + "-twice");
        var token = Token("bus-service", Roles.Scientist);
        var first = await Request(publisher, command, token);

        var second = await Request(publisher, command, token);

        first.State.ShouldBe("accepted");
        second.ShouldBe(first with { State = "duplicate" });
        await using var session = Store.QuerySession();
        (await session.Events.FetchStreamAsync(StreamKeys.Dataset(command.DatasetId), token: Ct)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Given_a_publisher_naming_a_type_that_is_no_contract_command_When_it_sends_Then_nothing_handles_it_and_nothing_is_sent_on_its_behalf()
    {
        // The control plane's own message that sends answers, aimed at a queue the attacker reads.
        var received = new TaskCompletionSource<CommandOutcome>();
        var handle = _bus.ConnectReceiveEndpoint("attacker-inbox", e => e.Handler<CommandOutcome>(c =>
        {
            received.TrySetResult(c.Message);
            return Task.CompletedTask;
        }));
        await handle.Ready;
        var forged = new ForgedAnswer(new ForgedAddress("rabbitmq://127.0.0.1/emo-bus-publishers/attacker-inbox", Guid.NewGuid(), null, Guid.NewGuid()),
            new CommandOutcome(Guid.NewGuid(), "RegisterDataset", "accepted"));
        var endpoint = await _bus.GetSendEndpoint(MassTransitPublisher.ControlPlane);

        await endpoint.Send(forged, c =>
        {
            c.Headers.Set(BusHeaders.Token, Token("mallory", Roles.Admin));
            c.Headers.Set(BusHeaders.MessageType, typeof(EventMlOps.ControlPlane.Commanding.PublisherAnswer).FullName);
        }, Ct);

        (await Task.WhenAny(received.Task, Task.Delay(TimeSpan.FromSeconds(5), Ct))).ShouldNotBe(received.Task, "an internal message type is refused at the queue");
        await handle.StopAsync(Ct);
    }

    [Fact]
    public async Task Given_senders_naming_another_queue_as_their_reply_address_When_they_send_Then_nothing_is_sent_there_while_a_response_queue_gets_its_answer()
    {
        await using var connection = await new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(_rabbitMq) }.CreateConnectionAsync(Ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Ct);
        // Declared as Wolverine declares a queue it sends to (a declaration with other arguments would fail and hide a send),
        // with names of their own: nothing left from an earlier run is counted.
        var victim = $"victim-inbox-{Guid.NewGuid():N}";
        var responses = $"wolverine.response.{Guid.NewGuid()}";
        foreach (var queue in new[] { victim, responses })
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: Ct);
        var outcome = typeof(CommandOutcome).ToMessageTypeName();
        var sent = new[]
        {
            (Dataset("misdirected-answer"), victim, outcome),              // would get the answer
            (Dataset("misdirected-ack"), victim, "EventMlOps.Contracts.Views.Nothing"), // would get Wolverine's failure acknowledgement
            (Dataset("answered"), responses, outcome),                     // the control: a Wolverine node's response queue
        };

        // Messages in Wolverine's shape, sent as any AMQP client can.
        foreach (var (command, replyTo, requested) in sent)
            await channel.BasicPublishAsync("", BusHeaders.ControlPlaneQueue, false, new RabbitMQ.Client.BasicProperties
            {
                Type = typeof(RegisterDataset).ToMessageTypeName(), ContentType = "application/json", MessageId = Guid.NewGuid().ToString(),
                Headers = new Dictionary<string, object?>
                {
                    [BusHeaders.Token] = Token("mallory", Roles.Scientist),
                    [EnvelopeConstants.ReplyUriKey] = $"rabbitmq://queue/{replyTo}",
                    [EnvelopeConstants.ReplyRequestedKey] = requested,
                },
            }, JsonSerializer.SerializeToUtf8Bytes(command, WireOptions), Ct);

        (await LifecycleTests.Eventually(async () => (await channel.QueueDeclarePassiveAsync(responses, Ct)).MessageCount == 1))
            .ShouldBeTrue("the response queue gets its answer");
        (await LifecycleTests.Eventually(async () =>
        {
            await using var session = Store.QuerySession();
            foreach (var (command, _, _) in sent)
                if (await session.Events.FetchStreamStateAsync(StreamKeys.Dataset(command.DatasetId), Ct) is null) return false;
            return true;
        })).ShouldBeTrue("every command itself is handled");
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        (await channel.QueueDeclarePassiveAsync(victim, Ct)).MessageCount.ShouldBe(0u,
            "neither an answer nor Wolverine's acknowledgement goes to a reply address outside Wolverine's response queues");
        var answer = await channel.BasicGetAsync(responses, autoAck: true, Ct);
        JsonSerializer.Deserialize<CommandOutcome>(answer!.Body.Span, WireOptions)!.CommandId.ShouldBe(sent[2].Item1.CommandId);
        foreach (var queue in new[] { victim, responses }) await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: Ct);
    }

    public sealed record ForgedAddress(string ResponseAddress, Guid RequestId, string? CorrelationId, Guid ConversationId);

    public sealed record ForgedAnswer(ForgedAddress To, CommandOutcome Outcome);

    private Task<CommandOutcome> Request(string publisher, RegisterDataset command, string token, Guid? correlation = null) => publisher == WolverineKind
        ? _wolverine.MessageBus().RequestCommandAsync(command, token, correlation?.ToString(), ct: Ct)
        : _bus.RequestAsync(command, token, correlation, ct: Ct);

    private string Token(string name, string role) => fx.Tokens.Issue(name, [role], TimeSpan.FromMinutes(5));

    private async Task<long> DeadLettersAbout(Guid id)
    {
        await using var conn = new Npgsql.NpgsqlConnection(fx.ConnectionString);
        await conn.OpenAsync(Ct);
        await using var cmd = new Npgsql.NpgsqlCommand("select count(*) from emo_mt_wolverine.wolverine_dead_letters where position(@id in body) > 0", conn);
        cmd.Parameters.AddWithValue("id", System.Text.Encoding.UTF8.GetBytes(id.ToString()));
        return (long)(await cmd.ExecuteScalarAsync(Ct))!;
    }

    private static JsonSerializerOptions Wire()
    {
        var options = new JsonSerializerOptions();
        WireJson.Configure(options);
        return options;
    }

    private static RegisterDataset Dataset(string name) => new(Guid.NewGuid(), Guid.NewGuid(), name, "file:///data/" + name,
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name))), "csv", 10,
        [new DatasetColumn("x", "float")]);
}
