using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.Local;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

[assembly: AssemblyFixture(typeof(EventMlOps.ControlPlane.Tests.Testing.ControlPlaneFixture))]

namespace EventMlOps.ControlPlane.Tests.Testing;

/// <summary>The real control-plane host on a real Kestrel port, against a private PostgreSQL cluster
/// (the same launcher as `./emo up`) and a database unique to this test run.</summary>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    public static JsonSerializerOptions Json => TestHost.Json;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public LocalPostgres Postgres { get; private set; } = null!;
    public string Database { get; } = $"emo_cp_{DateTime.UtcNow:yyyyMMddHHmmss}_{Environment.ProcessId}";
    public string ConnectionString => Postgres.ConnectionString(Database);
    public WebApplication App { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public IDocumentStore Store => App.Services.GetRequiredService<IDocumentStore>();
    public Tokens Tokens => new(_key);

    /// <summary>The signing key, for tokens <see cref="Tokens"/> would not issue (e.g. one that has expired).</summary>
    public byte[] SigningKey => _key;

    public async ValueTask InitializeAsync()
    {
        Postgres = await TestHost.PostgresAsync();
        await Postgres.EnsureDatabaseAsync(Database);
        (App, BaseAddress) = await StartWithAddressAsync("emo");
    }

    /// <summary>Starts a control plane on this run's database (another schema gives another, independent store).</summary>
    public async Task<WebApplication> StartAsync(string schema, params string[] extra) => (await StartWithAddressAsync(schema, extra)).App;

    /// <summary>Starts a control plane on this run's database; answers it and its base address.</summary>
    public Task<(WebApplication App, Uri Address)> StartWithAddressAsync(string schema, params string[] extra) =>
        TestHost.StartControlPlaneAsync(ConnectionString, schema, Path.Combine(Path.GetTempPath(), Database), [
            $"--Auth:SigningKey={Convert.ToBase64String(_key)}",
            // Runs are registered by hand in most tests; the policy and closed-loop tests use the models that opt in.
            "--Registry:AutoRegister=false",
            "--Datasets:Roots=/data", // the scenarios' datasets name files there (never read in these tests)
            "--Artifacts:S3:Bucket=bucket", // and objects in this bucket
            $"--Registry:Models:{AutoRegistered.Recommender}:AutoRegister=true",
            $"--Registry:Models:{AutoRegistered.Anomaly}:AutoRegister=true",
            $"--Registry:Models:{AutoRegistered.LoopCanary}:AutoRegister=true",
            $"--Registry:Models:{AutoRegistered.LoopManual}:AutoRegister=true",
            .. extra,
        ]);

    /// <summary>A client of this fixture's control plane, or of another one it started (<paramref name="at"/>).</summary>
    public HttpClient Client(string role, string name, Uri? at = null) => Client(Tokens.Issue(name, [role], TimeSpan.FromHours(1)), at);

    public HttpClient Client(string? token = null, Uri? at = null)
    {
        var client = new HttpClient { BaseAddress = at ?? BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Postgres.DropDatabaseAsync(Database);
    }
}

public static class AutoRegistered
{
    public const string Recommender = "auto-recommender";
    public const string Anomaly = "auto-anomaly";
    public const string LoopCanary = "auto-loop-canary";
    public const string LoopManual = "auto-loop-manual";
}
