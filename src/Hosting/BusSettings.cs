using Microsoft.Extensions.Configuration;

namespace EventMlOps.Hosting;

public enum BusTransport { Postgresql, RabbitMq, Kafka }

/// <summary>Which transport carries commands in and work orders out. PostgreSQL queues (the same
/// database) by default; RabbitMQ with <c>Bus:RabbitMq</c>; Kafka with <c>EMO_KAFKA</c> (or <c>Bus:Kafka</c>).</summary>
public sealed record BusSettings(BusTransport Transport, string? Address)
{
    public static BusSettings From(IConfiguration configuration)
    {
        if ((configuration["EMO_KAFKA"] ?? configuration["Bus:Kafka"]) is { Length: > 0 } kafka)
            return new(BusTransport.Kafka, kafka);
        if (configuration["Bus:RabbitMq"] is { Length: > 0 } rabbit)
            return new(BusTransport.RabbitMq, rabbit);
        return new(BusTransport.Postgresql, null);
    }
}
