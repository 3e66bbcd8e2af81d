using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using EventMlOps.ControlPlane;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.Local;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

[assembly: AssemblyFixture(typeof(EventMlOps.Agents.Tests.Testing.AgentsFixture))]
// One control plane and one agents queue: agents of two tests at once would compete for each other's work orders.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace EventMlOps.Agents.Tests.Testing;

/// <summary>The real control-plane host on a real Kestrel port and a private PostgreSQL cluster (the launcher of
/// `./emo up`), on a database unique to this test run; agents are started per test, as separate hosts on the same
/// bus, each with its own EMO_HOME.</summary>
public sealed class AgentsFixture : IAsyncLifetime
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public LocalPostgres Postgres { get; private set; } = null!;
    public string Database { get; } = $"emo_agents_{DateTime.UtcNow:yyyyMMddHHmmss}_{Environment.ProcessId}";
    public string ConnectionString => Postgres.ConnectionString(Database);
    public WebApplication App { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public IDocumentStore Store => App.Services.GetRequiredService<IDocumentStore>();
    public Tokens Tokens => new(_key);

    /// <summary>Scratch space of this test run (agent homes, datasets), removed at the end.</summary>
    public string Scratch { get; } = Path.Combine(Path.GetTempPath(), "emo-agents-tests", $"{DateTime.UtcNow:yyyyMMddHHmmss}-{Environment.ProcessId}");

    /// <summary>Where tests put dataset files: the control plane's data root (its home, with its keys, is not).</summary>
    public string Data => Path.Combine(Scratch, "data");

    public static string FakeTrainer => Path.Combine(AppContext.BaseDirectory, "Testing", "fake-trainer.sh");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Data);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(FakeTrainer, File.GetUnixFileMode(FakeTrainer) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        Postgres = await TestHost.PostgresAsync();
        await Postgres.EnsureDatabaseAsync(Database);
        (App, BaseAddress) = await TestHost.StartControlPlaneAsync(ConnectionString, "emo", Path.Combine(Scratch, "control-plane"),
            $"--Auth:SigningKey={Convert.ToBase64String(_key)}", "--Registry:AutoRegister=false", $"--Datasets:Roots={Data}",
            // The fake trainer's kind and the knobs that drive it (fake-trainer.sh), declared as an operator declares a trainer.
            "--Training:Kinds:fake=epochs,epoch_ms,fail_code,hang,ignore_term,lr,seed");
    }

    /// <summary>A training agent as `emo up` or `dotnet emo-agents.dll` runs it, on this control plane's bus.</summary>
    public Task<WebApplication> StartAgentAsync(string home, string? trainer = null, params string[] extra) => AgentsApp.StartAsync([
        $"--ConnectionStrings:Marten={ConnectionString}",
        "--Marten:Schema=emo",
        $"--Agents:Token={Tokens.Issue("emo-agents", [EventMlOps.Contracts.Roles.Agent], TimeSpan.FromHours(2))}",
        $"--Datasets:Roots={Data}",
        $"--EMO_HOME={home}",
        $"--Training:Trainer={trainer ?? FakeTrainer}",
        $"--Training:TrackingUri={BaseAddress}",
        "--Agents:HeartbeatSeconds=0.5",
        "--Agents:PollMilliseconds=100",
        "--Agents:CancelGraceSeconds=3",
        .. extra,
    ]);

    public HttpClient Client(string role, string name)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Tokens.Issue(name, [role], TimeSpan.FromHours(1)));
        return client;
    }

    /// <summary>The control plane's refusals of messages whose body holds <paramref name="text"/> (a run's id, an endpoint's
    /// name): facts it would not accept, e.g. out of order.</summary>
    public async Task<IReadOnlyList<string>> DeadLettersAboutAsync(string text)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var conn = new Npgsql.NpgsqlConnection(ConnectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new Npgsql.NpgsqlCommand(
            "select message_type || ': ' || coalesce(exception_message, '') from emo_wolverine.wolverine_dead_letters where position(@text in body) > 0", conn);
        cmd.Parameters.AddWithValue("text", System.Text.Encoding.UTF8.GetBytes(text));
        var found = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) found.Add(reader.GetString(0));
        return found;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Postgres.DropDatabaseAsync(Database);
        try { Directory.Delete(Scratch, recursive: true); }
        catch (IOException) { }
    }


}
