using System.Collections.Concurrent;
using System.Diagnostics;
using EventMlOps.Contracts.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>A stand-in control plane (a real Kestrel app on loopback) that implements the long poll of the desired state
/// and collects the observed-state reports of the serving processes that follow it.</summary>
public sealed class StandInControlPlane : IAsyncDisposable
{
    public const string Token = "agent-token";

    private readonly WebApplication _app;
    private ApplyEndpoint _desired;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failuresLeft = 1;

    private StandInControlPlane(ApplyEndpoint initial)
    {
        _desired = initial;
        var builder = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0"]);
        _app = builder.Build();
        _app.MapGet("/api/endpoints/{name}/desired", PollAsync);
        _app.MapPost("/api/endpoints/facts/observed", (HttpContext http, EndpointStatusReport observed) =>
        {
            if (http.Request.Headers.Authorization != $"Bearer {Token}") return Results.Unauthorized();
            Reports.Enqueue(observed);
            return Results.Accepted();
        });
    }

    public ConcurrentQueue<EndpointStatusReport> Reports { get; } = new();
    public int Polls;
    public string Url => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static async Task<StandInControlPlane> StartAsync(ApplyEndpoint initial)
    {
        var controlPlane = new StandInControlPlane(initial);
        await controlPlane._app.StartAsync();
        return controlPlane;
    }

    /// <summary>An emo-serve host following this control plane for the endpoint "recommend", reading artifacts from the
    /// trained models' folder.</summary>
    public Task<ServingHost> StartServingAsync(TrainedModels models) =>
        ServingHost.StartedAsync(ServingApp.Build(["--urls=http://127.0.0.1:0", $"--control-plane={Url}", "--endpoint=recommend", $"--token={Token}",
            "--Serving:LogLevel=Warning", $"--Artifacts:Root={models.Folder}"]));

    public void Publish(ApplyEndpoint desired)
    {
        _desired = desired;
        Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>The latest report of <paramref name="revision"/>, once one arrived.</summary>
    public async Task<EndpointStatusReport> ReportAsync(long revision)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (Reports.LastOrDefault(r => r.Revision == revision) is { } report) return report;
            await Task.Delay(20);
        }
        throw new TimeoutException($"no report of revision {revision}");
    }

    /// <summary>The control plane's contract: 200 once the revision passes <c>after</c>, else 204 after the wait;
    /// the very first poll fails, as a restarting control plane would.</summary>
    private async Task<IResult> PollAsync(HttpContext http, string name, long after, int waitSeconds)
    {
        Interlocked.Increment(ref Polls);
        if (http.Request.Headers.Authorization != $"Bearer {Token}") return Results.Unauthorized();
        if (Interlocked.Decrement(ref _failuresLeft) >= 0) return Results.StatusCode(500);
        var deadline = Task.Delay(TimeSpan.FromSeconds(waitSeconds), http.RequestAborted);
        while (_desired.Revision <= after)
            if (await Task.WhenAny(_changed.Task, deadline) == deadline) return Results.NoContent();
        return Results.Ok(_desired);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
