using System.Net.Http.Headers;
using System.Security.Cryptography;
using EventMlOps.Agents;
using EventMlOps.Artifacts;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.Local;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>The real control plane (a real Kestrel port, a private PostgreSQL cluster, a database unique to this test
/// class) and a content-addressed artifact store that it and the serving processes share.</summary>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    // Unique per class: two classes starting in the same second must not share a database (their schema DDL would race).
    public string Database { get; } = $"emo_serving_{DateTime.UtcNow:yyyyMMddHHmmss}_{Environment.ProcessId}_{Guid.NewGuid().ToString("N")[..8]}";
    public string Scratch { get; } = TestHost.Folder("emo-serving-cp-");
    public string ArtifactsRoot => Path.Combine(Scratch, "artifacts");
    public LocalArtifactStore Artifacts => new(ArtifactsRoot);
    public LocalPostgres Postgres { get; private set; } = null!;
    public WebApplication App { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public IDocumentStore Store => App.Services.GetRequiredService<IDocumentStore>();

    public async ValueTask InitializeAsync()
    {
        Postgres = await TestHost.PostgresAsync();
        await Postgres.EnsureDatabaseAsync(Database);
        (App, BaseAddress) = await TestHost.StartControlPlaneAsync(Postgres.ConnectionString(Database), "emo", Path.Combine(Scratch, "control-plane"),
            $"--Auth:SigningKey={Convert.ToBase64String(_key)}", "--Registry:AutoRegister=false", "--Datasets:Roots=/data");
    }

    /// <summary>The agents as <c>emo up</c> hosts them on this control plane (home <paramref name="home"/>), whose rollout agent
    /// runs this build's <c>emo-serve</c> as a process per endpoint, reading the same artifact store.</summary>
    public Task<WebApplication> StartAgentsAsync(string home, params string[] extra) => AgentsApp.StartAsync([
        $"--ConnectionStrings:Marten={Postgres.ConnectionString(Database)}",
        "--Marten:Schema=emo",
        $"--Agents:Token={Token(Roles.Agent, "emo-agents")}",
        $"--EMO_HOME={home}",
        $"--Agents:ControlPlaneUrl={BaseAddress}",
        $"--Artifacts:Root={ArtifactsRoot}",
        $"--Serving:Server={TestHost.Built("Serving", "emo-serve.dll")}",
        "--Serving:Arguments=--Serving:LogLevel=Warning",
        "--Agents:SuperviseMilliseconds=250",
        .. extra,
    ]);


    public string Token(string role, string name) => new Tokens(_key).Issue(name, [role], TimeSpan.FromHours(1));

    /// <summary>The grant an order for <paramref name="scope"/> carries (<c>run:{id:N}</c>, <c>endpoint:{name}</c>).</summary>
    public string Grant(string scope) => new Tokens(_key).IssueGrant(scope, TimeSpan.FromHours(1));

    public HttpClient Client(string role, string name) => new()
    {
        BaseAddress = BaseAddress,
        Timeout = TimeSpan.FromSeconds(30),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", Token(role, name)) },
    };

    /// <summary>The token the control plane issues a replica of <paramref name="endpoint"/> (named <paramref name="name"/>).</summary>
    public string ReplicaToken(string endpoint, string name) => new Tokens(_key).IssueForReplica(endpoint, name, TimeSpan.FromHours(1));

    /// <summary>emo-serve as `--control-plane … --endpoint … --token …` runs it, with the replica token the control plane
    /// issues (scoped to <paramref name="endpoint"/>, named <paramref name="name"/>), reading artifacts through the same store.</summary>
    public Task<ServingHost> StartServingAsync(string endpoint, string name) => ServingHost.StartedAsync(ServingApp.Build([
        "--urls=http://127.0.0.1:0",
        $"--control-plane={BaseAddress}",
        $"--endpoint={endpoint}",
        $"--token={ReplicaToken(endpoint, name)}",
        $"--Artifacts:Root={ArtifactsRoot}",
        $"--EMO_HOME={Path.Combine(Scratch, "serving")}",
        "--Serving:LogLevel=Warning",
    ]));

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Postgres.DropDatabaseAsync(Database);
        Directory.Delete(Scratch, recursive: true);
    }
}
