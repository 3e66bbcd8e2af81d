using EventMlOps.ControlPlane.Auth;

namespace EventMlOps.ControlPlane.Hosting;

public static class Database
{
    /// <summary>A configured connection string (<c>EMO_POSTGRES</c> or <c>ConnectionStrings:Marten</c>) always
    /// wins; otherwise the private cluster under <c>$EMO_HOME/pg</c> is started (or reused).</summary>
    public static async Task<string> ResolveConnectionStringAsync(IConfiguration config)
    {
        if ((config["EMO_POSTGRES"] ?? config.GetConnectionString("Marten")) is { Length: > 0 } configured)
            return configured;
        var pg = await LocalPostgres.StartAsync(Path.Combine(EmoHome.Resolve(config), "pg"));
        await pg.EnsureDatabaseAsync("emo");
        return pg.ConnectionString("emo");
    }
}
