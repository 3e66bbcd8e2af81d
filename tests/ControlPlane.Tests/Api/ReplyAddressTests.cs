using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Hosting;
using Wolverine.Util;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>The only queues answers go to, whatever address a sender writes: a Wolverine node's response queue
/// (<c>wolverine.response.&lt;guid&gt;</c>) or a MassTransit bus queue — never one of the control plane's, another service's,
/// or a name that only looks like one.</summary>
public sealed class ReplyAddressTests
{
    private static readonly string Outcome = typeof(CommandOutcome).ToMessageTypeName();
    private const string Guid = "0b1d3c1e-8f6a-4c7e-9a51-2f0d6b7c8e9a";

    [Fact]
    public void Given_a_Wolverine_nodes_response_queue_awaiting_a_CommandOutcome_When_read_Then_it_is_the_answers_queue() =>
        WolverineReply.ResponseQueue($"rabbitmq://queue/wolverine.response.{Guid}", Outcome).ShouldBe($"wolverine.response.{Guid}");

    [Theory]
    [InlineData("rabbitmq://queue/emo-agents")]                                        // the agents' work orders
    [InlineData("rabbitmq://queue/emo-control-plane")]                                 // the command queue itself
    [InlineData("rabbitmq://queue/billing-inbox")]                                     // another service's queue
    [InlineData("rabbitmq://queue/wolverine.response.not-a-guid")]
    [InlineData("rabbitmq://queue/wolverine.response." + Guid + "/emo-agents")]        // a second segment
    [InlineData("rabbitmq://queue/wolverine.response." + Guid + "%00")]                // NUL after the guid
    [InlineData("rabbitmq://queue/wolverine.response.{" + Guid + "}")]                 // another guid format
    [InlineData("rabbitmq://exchange/wolverine.response." + Guid)]
    [InlineData("postgresql://wolverine.response." + Guid)]
    [InlineData("kafka://topic/wolverine.response." + Guid)]
    [InlineData("wolverine.response." + Guid)]                                        // not an address
    [InlineData("")]
    [InlineData(null)]
    public void Given_any_other_reply_address_When_read_Then_no_queue_is_answered(string? address) =>
        WolverineReply.ResponseQueue(address, Outcome).ShouldBeNull();

    [Theory]
    [InlineData(null)]
    [InlineData("EventMlOps.Contracts.Views.Nothing")]
    public void Given_a_sender_awaiting_anything_but_a_CommandOutcome_When_read_Then_no_queue_is_answered(string? requested) =>
        WolverineReply.ResponseQueue($"rabbitmq://queue/wolverine.response.{Guid}", requested).ShouldBeNull();

    [Fact]
    public void Given_a_MassTransit_bus_queue_When_read_Then_it_is_the_answers_queue() =>
        MassTransitWire.ResponseQueue("rabbitmq://127.0.0.1/vhost/host1_dotnet_bus_5rnyyyr7n6kdgjb8bdqz8xpzno").ShouldBe("host1_dotnet_bus_5rnyyyr7n6kdgjb8bdqz8xpzno");

    [Theory]
    [InlineData("rabbitmq://127.0.0.1/emo-agents")]
    [InlineData("rabbitmq://127.0.0.1/emo-agents_bus_x")]                              // ours, whatever it contains
    [InlineData("rabbitmq://127.0.0.1/wolverine.response_bus_x")]
    [InlineData("rabbitmq://127.0.0.1/billing-inbox")]                                 // not a bus queue
    [InlineData("rabbitmq://127.0.0.1/")]
    [InlineData("not an address")]
    [InlineData("")]
    public void Given_any_other_MassTransit_response_address_When_read_Then_no_queue_is_answered(string address) =>
        MassTransitWire.ResponseQueue(address).ShouldBeNull();

    [Fact]
    public void Given_an_over_long_MassTransit_queue_name_When_read_Then_no_queue_is_answered() =>
        MassTransitWire.ResponseQueue("rabbitmq://127.0.0.1/" + new string('a', 250) + "_bus_x").ShouldBeNull();
}
