using MassTransit;

namespace EventMlOps.ControlPlane.Tests.Testing;

/// <summary>A MassTransit 8 bus on a RabbitMQ virtual host, as another service would run it: it shares nothing with the
/// control plane but the broker and contracts/.</summary>
public static class MassTransitTestBus
{
    public static async Task<IBusControl> StartAsync(string amqpUri, Action<IRabbitMqBusFactoryConfigurator>? configure = null)
    {
        var uri = new Uri(amqpUri);
        var credentials = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(uri.Host, (ushort)uri.Port, uri.AbsolutePath.Trim('/') is { Length: > 0 } vhost ? vhost : "/", h =>
            {
                h.Username(credentials[0]);
                h.Password(credentials[1]);
            });
            configure?.Invoke(cfg);
        });
        await bus.StartAsync(TestContext.Current.CancellationToken);
        return bus;
    }
}
