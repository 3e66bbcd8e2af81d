using EventMlOps.Agents;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.Local;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

[assembly: AssemblyFixture(typeof(EventMlOps.Cli.Tests.Testing.ControlPlaneFixture))]

namespace EventMlOps.Cli.Tests.Testing;

/// <summary>The real control plane on a real Kestrel port and the real agents (running the real trainer), in this
/// process as `emo up` hosts them, against the shared private test PostgreSQL cluster in a schema unique to this run.
/// The CLI under test talks to it over HTTP and the bus exactly as it would to `emo up`'s.</summary>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    public const string Database = "emo_test";

    public string Schema { get; } = $"cli_{DateTime.UtcNow:yyyyMMddHHmmss}_{Environment.ProcessId}";
    public string Home { get; } = TestHost.Folder("emo-cli-tests-");
    public LocalPostgres Postgres { get; private set; } = null!;
    public string ConnectionString => Postgres.ConnectionString(Database);
    public WebApplication App { get; private set; } = null!;

    /// <summary>A registered model with one version (an endpoint needs one), appended straight to the store for tests about
    /// endpoints only; returns its name.</summary>
    public async Task<string> SeedModelAsync(string model)
    {
        await using var session = App.Services.GetRequiredService<Marten.IDocumentStore>().LightweightSession();
        if (await session.Events.FetchStreamStateAsync(EventMlOps.Contracts.StreamKeys.ModelVersion(model, 1)) is not null) return model;
        session.Events.StartStream<ControlPlane.Registry.ModelVersion>(EventMlOps.Contracts.StreamKeys.ModelVersion(model, 1),
            new ControlPlane.Registry.ModelVersionRegistered(model, 1, Guid.NewGuid(), new ControlPlane.Registry.ModelArtifact("file:///seeded.onnx", new string('a', 64)), Guid.NewGuid(),
                new string('b', 64), new Dictionary<string, double>(), "alice", DateTimeOffset.UtcNow));
        await session.SaveChangesAsync();
        return model;
    }
    public IHost Agents { get; private set; } = null!;
    public string Url { get; private set; } = null!;

    /// <summary>Signs with the key the control plane created in <see cref="Home"/>, as `emo token` does.</summary>
    public Tokens Tokens => new(Tokens.LoadOrCreateKeyFile(Path.Combine(Home, "keys", "signing.key")));

    public async ValueTask InitializeAsync()
    {
        Postgres = await TestHost.PostgresAsync();
        await Postgres.EnsureDatabaseAsync(Database);
        Uri url;
        (App, url) = await TestHost.StartControlPlaneAsync(ConnectionString, Schema, Home, "--Artifacts:S3:Bucket=bucket");
        Url = url.ToString();
        // The trainer and the model server are built beside the CLI (its project references) in this build's configuration;
        // the demo generates its sensor stream with the trainer, as ./emo points it there.
        Environment.SetEnvironmentVariable("EMO_TRAINER", TestHost.Built("Training", "emo-train.dll"));
        Agents = await AgentsApp.StartAsync([
            $"--EMO_HOME={Home}",
            $"--ConnectionStrings:Marten={ConnectionString}",
            $"--Marten:Schema={Schema}",
            $"--Agents:ControlPlaneUrl={Url}",
            $"--Training:Trainer={TestHost.Built("Training", "emo-train.dll")}",
            $"--Serving:Server={TestHost.Built("Serving", "emo-serve.dll")}",
            "--Serving:Arguments=--Serving:LogLevel=Warning",
            $"--Agents:Token={Tokens.Issue("emo-agents", [EventMlOps.Contracts.Roles.Agent], TimeSpan.FromHours(2))}",
        ]);
    }

    /// <summary>The CLI as one principal of this control plane.</summary>
    public EmoUser As(string name, params string[] roles) => new(this, Tokens.Issue(name, roles, TimeSpan.FromHours(1)));

    /// <summary>The CLI with no token at all, and a home that holds none either.</summary>
    public EmoUser Anonymous() => new(this, null, Directory.CreateTempSubdirectory("emo-cli-anon-").FullName);

    public async ValueTask DisposeAsync()
    {
        await Agents.StopAsync();
        Agents.Dispose();
        // Serving replicas outlive the agents that started them.
        var runtime = LocalProcessRuntime.ForHome(Home, TimeSpan.FromSeconds(5));
        foreach (var job in await runtime.ListAsync(CancellationToken.None)) await runtime.DeleteAsync(job.Name, CancellationToken.None);
        await App.StopAsync();
        await App.DisposeAsync();
        await DropSchemasAsync(Schema);
        Directory.Delete(Home, recursive: true);
    }

    /// <summary>The CLI as a real process (`dotnet emo.dll … --home <paramref name="home"/>`) whose own control plane, if it
    /// starts one, keeps its store in this test cluster under <paramref name="schema"/>; nothing of the caller's EMO_* leaks in.</summary>
    public async Task<EmoResult> ProcessAsync(string home, string schema, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[typeof(EmoCli).Assembly.Location, .. args, "--home", home]) start.ArgumentList.Add(a);
        foreach (var inherited in new[] { "EMO_URL", "EMO_TOKEN", "EMO_HOME", "EMO_KAFKA", "ConnectionStrings__Marten" })
            start.Environment.Remove(inherited);
        start.Environment["EMO_POSTGRES"] = ConnectionString;
        start.Environment["Marten__Schema"] = schema;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // A rebuild starts a control plane whose handlers compile at start: minutes on a loaded 2-core machine.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new EmoResult(-1, await stdout, await stderr + "\n(killed: still running after 8 minutes)");
        }
        return new EmoResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The store, envelope, queue and CLI publisher schemas of one control-plane schema prefix.</summary>
    public async Task DropSchemasAsync(string schema)
    {
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        foreach (var s in new[] { schema, schema + "_wolverine", schema + "_queues", schema + "_wolverine_cli", schema + "_agents" })
        {
            await using var drop = new NpgsqlCommand($"drop schema if exists \"{s}\" cascade", conn);
            await drop.ExecuteNonQueryAsync();
        }
    }

}
