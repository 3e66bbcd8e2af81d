using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Hosting;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

[assembly: AssemblyFixture(typeof(EventMlOps.ControlPlane.Tests.Testing.ControlPlaneFixture))]

namespace EventMlOps.ControlPlane.Tests.Testing;

/// <summary>The real control-plane host on a real Kestrel port, against a private PostgreSQL cluster
/// (the same launcher as `./emo up`) and a database unique to this test run.</summary>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    public static readonly JsonSerializerOptions Json = CreateJson();
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public LocalPostgres Postgres { get; private set; } = null!;
    public string Database { get; } = $"emo_cp_{DateTime.UtcNow:yyyyMMddHHmmss}_{Environment.ProcessId}";
    public string ConnectionString => Postgres.ConnectionString(Database);
    public WebApplication App { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public IDocumentStore Store => App.Services.GetRequiredService<IDocumentStore>();
    public Tokens Tokens => new(_key);

    public async ValueTask InitializeAsync()
    {
        Postgres = await LocalPostgres.StartAsync(Path.Combine(RepoRoot(), ".emo", "pg-test"), durable: false);
        await Postgres.EnsureDatabaseAsync(Database);
        App = await StartAsync("emo");
        BaseAddress = new Uri(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>Starts a control plane on this run's database (another schema gives another, independent store).</summary>
    public async Task<WebApplication> StartAsync(string schema, params string[] extra)
    {
        var app = await ControlPlaneApp.BuildAsync([
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Marten={ConnectionString}",
            $"--Marten:Schema={schema}",
            $"--Auth:SigningKey={Convert.ToBase64String(_key)}",
            $"--EMO_HOME={Path.Combine(Path.GetTempPath(), Database)}",
            // Runs are registered by hand in most tests; the policy tests use the two models that opt in.
            "--Registry:AutoRegister=false",
            $"--Registry:Models:{AutoRegistered.Recommender}:AutoRegister=true",
            $"--Registry:Models:{AutoRegistered.Anomaly}:AutoRegister=true",
            .. extra,
        ]);
        await app.StartAsync();
        return app;
    }

    public HttpClient Client(string role, string name) => Client(Tokens.Issue(name, [role], TimeSpan.FromHours(1)));

    public HttpClient Client(string? token = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
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

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EventMlOps.sln")))
                return dir.FullName;
        throw new InvalidOperationException("EventMlOps.sln not found above " + AppContext.BaseDirectory);
    }

    private static JsonSerializerOptions CreateJson()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        ControlPlaneApp.Json(o);
        return o;
    }
}

public static class AutoRegistered
{
    public const string Recommender = "auto-recommender";
    public const string Anomaly = "auto-anomaly";
}

public static class HttpExtensions
{
    public static Task<HttpResponseMessage> Send(this HttpClient client, string route, object body) =>
        client.PostAsync(route, JsonContent.Create(body, body.GetType(), options: ControlPlaneFixture.Json));

    public static async Task<T> Read<T>(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.ShouldBeTrue($"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, ControlPlaneFixture.Json)!;
    }

    public static async Task<T> Get<T>(this HttpClient client, string route) => await (await client.GetAsync(route)).Read<T>();

    public static async Task<JsonElement> Problem(this HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(status, text);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        return JsonDocument.Parse(text).RootElement;
    }
}
