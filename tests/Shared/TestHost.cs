using System.Net.Http.Json;
using System.Text.Json;
using EventMlOps.ControlPlane;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.Hosting;
using EventMlOps.Local;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Testing;

/// <summary>What every test project's fixture starts the same way (compiled into each of them from tests/Shared):
/// the private test PostgreSQL cluster and the real control-plane host on a free Kestrel port.</summary>
public static class TestHost
{
    public static readonly JsonSerializerOptions Json = CreateJson();

    /// <summary>The build configuration of these tests: the programs they run are this build's (src/*/bin/{Configuration}).</summary>
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    /// <summary>A file of this build's output of <c>src/{project}</c> (a program the tests run, its deps.json …).</summary>
    public static string Built(string project, string file) => Path.Combine(RepoRoot(), "src", project, "bin", Configuration, "net10.0", file);

    /// <summary>The cluster every test run shares (fsync off), started by the same launcher as `./emo up`.</summary>
    public static Task<LocalPostgres> PostgresAsync() => LocalPostgres.StartAsync(Path.Combine(RepoRoot(), ".emo", "pg-test"), durable: false);

    /// <summary>Builds and starts the control plane on <paramref name="connectionString"/>; answers it and its base address.</summary>
    public static async Task<(WebApplication App, Uri Address)> StartControlPlaneAsync(string connectionString, string schema, string home, params string[] extra)
    {
        var app = ControlPlaneApp.Build([
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Marten={connectionString}",
            $"--Marten:Schema={schema}",
            $"--EMO_HOME={home}",
            .. extra,
        ]);
        await app.StartAsync();
        return (app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
    }

    /// <summary>A new temporary folder that the agents' unprivileged job account can pass through (as `emo up` makes its
    /// home): jobs reach their own folders and the artifact store under it, and nothing they may not read.</summary>
    public static string Folder(string prefix)
    {
        var folder = Directory.CreateTempSubdirectory(prefix).FullName;
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return folder;
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
        WireJson.Configure(o);
        return o;
    }
}

public static class HttpExtensions
{
    public static Task<HttpResponseMessage> Send(this HttpClient client, string route, object body) =>
        client.PostAsync(route, JsonContent.Create(body, body.GetType(), options: TestHost.Json));

    public static async Task<T> Read<T>(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.ShouldBeTrue($"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, TestHost.Json)!;
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
