using System.Diagnostics;
using System.Net;
using System.Text.Json;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Serving.Converging;
using EventMlOps.Serving.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>The real serving host (<see cref="ServingApp"/>) on a free loopback port, serving what a desired-state
/// file in its own folder says; tests rewrite the file to change it.</summary>
public sealed class ServingHost : IAsyncDisposable
{
    private readonly string? _desiredPath;

    private ServingHost(WebApplication app, string? desiredPath)
    {
        App = app;
        _desiredPath = desiredPath;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(address) };
    }

    public WebApplication App { get; }
    public HttpClient Client { get; }
    public RoutingTable Table => App.Services.GetRequiredService<Router>().Current;

    /// <summary>Starts serving <paramref name="versions"/> as revision 1 and returns once that revision was applied.</summary>
    public static async Task<ServingHost> StartAsync(TrainedModels models, IReadOnlyList<ServedVersion> versions, params string[] settings)
    {
        var desired = Path.Combine(Directory.CreateDirectory(Path.Combine(models.Folder, "hosts", Guid.NewGuid().ToString("N")[..8])).FullName, "desired.json");
        WriteDesired(desired, 1, versions);
        var host = await StartedAsync(ServingApp.Build([
            "--urls=http://127.0.0.1:0",
            $"--desired={desired}",
            "--Serving:DesiredPollInterval=00:00:00.050",
            "--Serving:LogLevel=Warning",
            // The trained models' folder is the store these servers read from: a server reads only under its data roots.
            $"--Artifacts:Root={models.Folder}",
            .. settings,
        ]), desired);
        await host.WaitForRevisionAsync(1);
        return host;
    }

    /// <summary>Starts a host built elsewhere (another desired-state source: <paramref name="desiredPath"/> null).</summary>
    public static async Task<ServingHost> StartedAsync(WebApplication app, string? desiredPath = null)
    {
        await app.StartAsync();
        return new ServingHost(app, desiredPath);
    }

    /// <summary>Writes revision <paramref name="revision"/> and waits until it was applied (loaded or refused).</summary>
    public async Task ApplyAsync(long revision, params ServedVersion[] versions)
    {
        Publish(revision, versions);
        await WaitForRevisionAsync(revision);
    }

    public void Publish(long revision, params ServedVersion[] versions) =>
        WriteDesired(_desiredPath ?? throw new InvalidOperationException("this host does not read a desired-state file"), revision, versions);

    public async Task WaitForRevisionAsync(long revision)
    {
        var clock = Stopwatch.StartNew();
        while (Table.Revision != revision)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException($"revision {revision} was not applied (at {Table.Revision})");
            await Task.Delay(20);
        }
    }

    public async Task<(HttpStatusCode Status, JsonElement Body, string? Version)> GetJson(string route) => await Read(await Client.GetAsync(route));

    public async Task<(HttpStatusCode Status, JsonElement Body, string? Version)> PostJson(string route, string json) =>
        await Read(await Client.PostAsync(route, new StringContent(json, System.Text.Encoding.UTF8, "application/json")));

    public static async Task<(HttpStatusCode Status, JsonElement Body, string? Version)> Read(HttpResponseMessage response)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
            return (response.StatusCode, body, response.Headers.TryGetValues("X-Model-Version", out var v) ? v.Single() : null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    private static void WriteDesired(string path, long revision, IReadOnlyList<ServedVersion> versions)
    {
        // Written aside and renamed: the poller never sees half a file.
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(new ApplyEndpoint("recommend", revision, versions, 1, 1), DesiredState.Json));
        File.Move(temp, path, overwrite: true);
    }
}

public static class ProblemAssertions
{
    /// <summary>Asserts a ProblemDetails answer with <paramref name="status"/> whose detail names <paramref name="reason"/>.</summary>
    public static async Task ShouldBeProblem(this HttpResponseMessage response, HttpStatusCode status, string reason)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString()!.ShouldContain(reason);
    }
}
