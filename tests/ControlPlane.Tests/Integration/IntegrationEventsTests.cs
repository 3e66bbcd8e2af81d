using System.Collections.Concurrent;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Integration.V1;
using EventMlOps.ControlPlane.Integration;
using EventMlOps.ControlPlane.Tests.Lineage;
using EventMlOps.ControlPlane.Tests.Testing;
using Marten;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.ControlPlane.Tests.Integration;

/// <summary>A MassTransit 8 consumer bound to the emo-events exchange receives a lifecycle's integration events: each of the
/// store's events once (after de-duplication by event id), in order per stream, across a restart of the control plane.</summary>
public sealed class IntegrationEventsTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly ConcurrentQueue<IIntegrationEvent> _received = new();

    [Fact]
    public async Task Given_a_MassTransit_subscriber_When_a_lifecycle_runs_across_a_control_plane_restart_Then_it_receives_each_event_once_in_stream_order()
    {
        var uri = await RabbitMq.VirtualHostAsync("emo-integration-events");
        var subscriber = await MassTransitTestBus.StartAsync(uri, cfg => cfg.ReceiveEndpoint("emo-test-integration-subscriber", e =>
        {
            e.ConfigureConsumeTopology = false;
            e.Bind(BusHeaders.EventsExchange);
            // One at a time: MassTransit consumes concurrently by default, which would reorder what arrived in order.
            e.ConcurrentMessageLimit = 1;
            foreach (var type in typeof(IIntegrationEvent).Assembly.GetTypes().Where(t => t.IsClass && typeof(IIntegrationEvent).IsAssignableFrom(t)))
                GetType().GetMethod(nameof(Consume), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
                    .MakeGenericMethod(type).Invoke(this, [e]);
        }));
        try
        {
            var (first, address) = await fx.StartWithAddressAsync("emo_events", $"--Bus:RabbitMq={uri}");
            var s = new Scenario(fx, at: address);
            await s.RegisterDataset();
            var run = await s.TrainedRun();
            var version = await s.RegisteredVersion(run);
            await s.Approve(version);
            (await Eventually(() => _received.OfType<ModelVersionApproved>().Any(a => a.ModelName == s.Model))).ShouldBeTrue("the approval arrived");

            // Mid-stream: the control plane stops and another takes over on the same store and address.
            await first.StopAsync(Ct);
            await first.DisposeAsync();
            var (second, _) = await fx.StartWithAddressAsync("emo_events", $"--Bus:RabbitMq={uri}", $"--urls={address}");
            try
            {
                await s.CreateEndpoint();
                (await s.RollOut(version)).EnsureSuccessStatusCode();
                await s.Serve(version);
                (await Eventually(() => _received.OfType<RolloutPromoted>().Any(p => p.Endpoint == s.Endpoint))).ShouldBeTrue("the promotion arrived");

                await using var session = second.Services.GetRequiredService<IDocumentStore>().QuerySession();
                string[] streams = [StreamKeys.Run(run), StreamKeys.ModelVersion(s.Model, version), StreamKeys.Endpoint(s.Endpoint)];
                var expected = new List<IIntegrationEvent>();
                foreach (var stream in streams)
                    expected.AddRange((await session.Events.FetchStreamAsync(stream, token: Ct)).Select(IntegrationEvents.From).OfType<IIntegrationEvent>());
                var once = _received.Where(r => streams.Contains(r.Stream)).DistinctBy(r => r.EventId).ToList();
                once.Select(r => r.GetType().Name).Order().ShouldBe(expected.Select(r => r.GetType().Name).Order());
                foreach (var stream in streams)
                    once.Where(r => r.Stream == stream).Select(r => r.StreamVersion).ShouldBe(expected.Where(r => r.Stream == stream).Select(r => r.StreamVersion),
                        $"the events of {stream} in the store's order");
                once.Select(r => r.GetType().Name).ShouldBe(["TrainingSucceeded", "ModelVersionRegistered", "ModelVersionApproved", "RolloutStarted", "RolloutPromoted"],
                    ignoreOrder: true);
            }
            finally
            {
                await second.StopAsync(CancellationToken.None);
                await second.DisposeAsync();
            }
        }
        finally
        {
            await subscriber.StopAsync(CancellationToken.None);
        }
    }

    private void Consume<T>(IRabbitMqReceiveEndpointConfigurator e) where T : class, IIntegrationEvent =>
        e.Handler<T>(context =>
        {
            _received.Enqueue(context.Message);
            return Task.CompletedTask;
        });

    private static Task<bool> Eventually(Func<bool> condition) => LifecycleTests.Eventually(() => Task.FromResult(condition()), 30);
}
