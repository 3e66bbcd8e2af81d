using Microsoft.Extensions.Configuration;

namespace EventMlOps.Hosting;

/// <summary>The one resolution of the event store's connection string and schema. Hosts never start a database: the
/// local launcher (<c>emo up</c>, src/Local) starts a private cluster and passes its connection string.</summary>
public static class Store
{
    public const string DefaultSchema = "emo";

    /// <summary><c>EMO_POSTGRES</c>, else <c>ConnectionStrings:Marten</c>; null when neither is set.</summary>
    public static string? ConnectionString(IConfiguration configuration) =>
        (configuration["EMO_POSTGRES"] ?? configuration.GetConnectionString("Marten")) is { Length: > 0 } configured ? configured : null;

    public static string RequireConnectionString(IConfiguration configuration) =>
        ConnectionString(configuration) ?? throw new InvalidOperationException(
            "no PostgreSQL is configured: set EMO_POSTGRES or ConnectionStrings__Marten (./emo up starts a private cluster and passes it)");

    /// <summary><c>Marten:Schema</c>, else <see cref="DefaultSchema"/>; the bus uses <c>{schema}_queues</c> and friends.</summary>
    public static string Schema(IConfiguration configuration) =>
        configuration["Marten:Schema"] is { Length: > 0 } schema ? schema : DefaultSchema;
}
