using EventMlOps.Hosting;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Local;

public static class LocalDatabase
{
    /// <summary>A configured connection string (<see cref="Store.ConnectionString"/>) always wins; otherwise the
    /// private cluster under <c>$EMO_HOME/pg</c> is started (or reused) and its <c>emo</c> database named.</summary>
    public static async Task<string> ConnectionStringAsync(IConfiguration configuration, CancellationToken ct = default)
    {
        if (Store.ConnectionString(configuration) is { } configured) return configured;
        var pg = await LocalPostgres.StartAsync(Path.Combine(EmoHome.Resolve(configuration), "pg"), ct: ct);
        await pg.EnsureDatabaseAsync("emo");
        return pg.ConnectionString("emo");
    }
}
