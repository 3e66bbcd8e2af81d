using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Bench.Seeding;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.Hosting;
using EventMlOps.Local;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EventMlOps.ControlPlane.Bench;

/// <summary>Where the store lives: the private development cluster (fsync off) or EMO_POSTGRES.</summary>
public sealed record BenchDatabase(string ConnectionString, string Description, LocalPostgres? Local)
{
    public const string Schema = "emo";
    private const string LocalDatabase = "emo_bench";

    public static async Task<BenchDatabase> OpenAsync(string repoRoot, bool reset, CancellationToken ct)
    {
        if (Environment.GetEnvironmentVariable("EMO_POSTGRES") is { Length: > 0 } external)
        {
            var builder = new NpgsqlConnectionStringBuilder(external);
            var db = new BenchDatabase(external, $"EMO_POSTGRES {builder.Host}:{builder.Port}/{builder.Database}", null);
            if (reset)
                await Sql.ExecuteAsync(external, $"drop schema if exists {Schema} cascade; drop schema if exists {Schema}_wolverine cascade; drop schema if exists {Schema}_queues cascade", ct);
            return db;
        }
        var root = Path.Combine(repoRoot, ".emo", "pg-bench");
        var pg = await LocalPostgres.StartAsync(root, durable: false, ct);
        if (reset) await pg.DropDatabaseAsync(LocalDatabase, ct);
        await pg.EnsureDatabaseAsync(LocalDatabase, ct);
        return new(pg.ConnectionString(LocalDatabase), $"private cluster {root} (127.0.0.1:{pg.Port}/{LocalDatabase})", pg);
    }

    public async Task<IReadOnlyList<(string Name, string Value)>> SettingsAsync(CancellationToken ct)
    {
        var names = new[] { "server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "work_mem", "max_connections" };
        var settings = new List<(string, string)>();
        foreach (var name in names)
            settings.Add((name, await Sql.ScalarAsync<string>(ConnectionString, $"show {name}", ct)));
        return settings;
    }
}

/// <summary>The real control plane (<see cref="ControlPlaneApp"/>) on a Kestrel port, with JWTs for the
/// roles that the lifecycle needs and HTTP helpers that fail on any non-2xx answer.</summary>
public sealed class BenchHost : IAsyncDisposable
{
    public static readonly JsonSerializerOptions Json = CreateJson();
    private readonly SocketsHttpHandler _handler = new() { MaxConnectionsPerServer = 512, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) };
    private bool _started;

    private BenchHost(WebApplication app, Tokens tokens) => (App, Tokens) = (app, tokens);

    public WebApplication App { get; }
    public Tokens Tokens { get; }
    public IDocumentStore Store => App.Services.GetRequiredService<IDocumentStore>();
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Builds the host without starting it: the store is usable (for seeding) before the async daemon runs.</summary>
    public static async Task<BenchHost> BuildAsync(BenchDatabase db, string emoHome)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var app = ControlPlaneApp.Build([
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Marten={db.ConnectionString}",
            $"--Marten:Schema={BenchDatabase.Schema}",
            $"--Auth:SigningKey={Convert.ToBase64String(key)}",
            $"--EMO_HOME={emoHome}",
        ]);
        return new BenchHost(app, new Tokens(key));
    }

    public async Task StartAsync()
    {
        await App.StartAsync();
        _started = true;
        BaseAddress = new Uri(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public string Token(string name, string role) => Tokens.Issue(name, [role], TimeSpan.FromHours(12));

    public HttpClient Client(string? name = null, string? role = null)
    {
        var client = new HttpClient(_handler, disposeHandler: false) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (name is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(name, role ?? Roles.Viewer));
        return client;
    }

    public static async Task<CommandAccepted> SendAsync(HttpClient client, string route, ICommand command, CancellationToken ct)
    {
        using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(command, command.GetType(), Json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(route, content, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"POST {route} → {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        return JsonSerializer.Deserialize<CommandAccepted>(body, Json)!;
    }

    public static async Task<int> GetAsync(HttpClient client, string route, CancellationToken ct)
    {
        using var response = await client.GetAsync(route, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"GET {route} → {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        return body.Length;
    }

    public async ValueTask DisposeAsync()
    {
        if (_started) await App.StopAsync();
        await App.DisposeAsync();
        _handler.Dispose();
    }

    private static JsonSerializerOptions CreateJson()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        WireJson.Configure(o);
        return o;
    }
}
