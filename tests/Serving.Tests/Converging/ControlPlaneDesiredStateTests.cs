using System.Collections.Concurrent;
using System.Diagnostics;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Serving.Tests.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Serving.Tests.Converging;

/// <summary>The serving process against a stand-in control plane (a real Kestrel app on loopback) that implements the
/// long poll and collects the observed-state reports.</summary>
public class ControlPlaneDesiredStateTests(TrainedModels models)
{
    private const string Token = "agent-token";

    private sealed class FakeControlPlane : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private ApplyEndpoint _desired;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _failuresLeft = 1;

        public FakeControlPlane(ApplyEndpoint initial)
        {
            _desired = initial;
            var builder = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0"]);
            _app = builder.Build();
            _app.MapGet("/api/endpoints/{name}/desired", PollAsync);
            _app.MapPost("/api/endpoints/facts/observed", (HttpContext http, EndpointObserved observed) =>
            {
                if (http.Request.Headers.Authorization != $"Bearer {Token}") return Results.Unauthorized();
                Reports.Enqueue(observed);
                return Results.Accepted();
            });
        }

        public ConcurrentQueue<EndpointObserved> Reports { get; } = new();
        public int Polls;
        public string Url => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        public Task StartAsync() => _app.StartAsync();

        public void Publish(ApplyEndpoint desired)
        {
            _desired = desired;
            Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
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

    [Fact]
    public async Task Given_a_control_plane_When_its_desired_state_changes_Then_serving_follows_the_long_poll_and_reports_what_it_loaded()
    {
        await using var controlPlane = new FakeControlPlane(new ApplyEndpoint("recommend", 1, [models.RecommenderV1()], 1, 1));
        await controlPlane.StartAsync();
        await using var serving = await StartServingAsync(controlPlane.Url);

        var first = await ReportAsync(controlPlane, 1);
        (first.Endpoint, first.Ready, first.Message).ShouldBe(("recommend", true, null));
        first.Loaded.ShouldBe([new LoadedVersion(1, models.RecommenderV1().ArtifactSha256, 100)]);
        controlPlane.Polls.ShouldBeGreaterThanOrEqualTo(2, "the failed first poll was retried");
        (await serving.GetJson("/recommend?user_id=1")).Version.ShouldBe("rec@1");

        controlPlane.Publish(new ApplyEndpoint("recommend", 2, [models.RecommenderV1(weight: 0), models.RecommenderV2(weight: 100)], 1, 1));
        var second = await ReportAsync(controlPlane, 2);
        second.Ready.ShouldBeTrue();
        second.Loaded!.Select(l => (l.Version, l.Weight)).ShouldBe([(1, 0), (2, 100)]);
        (await serving.GetJson("/recommend?user_id=1")).Version.ShouldBe("rec@2");

        controlPlane.Publish(new ApplyEndpoint("recommend", 3, [models.RecommenderV2(), models.HashMismatch()], 1, 1));
        var third = await ReportAsync(controlPlane, 3);
        third.Ready.ShouldBeFalse();
        third.Message!.ShouldContain("rec@3");
        third.Message!.ShouldContain("sha256");
        third.Loaded!.Select(l => l.Version).ShouldBe([2]);
        second.CommandId.ShouldNotBe(third.CommandId);
    }

    private Task<ServingHost> StartServingAsync(string controlPlane) =>
        ServingHost.StartedAsync(ServingApp.Build(["--urls=http://127.0.0.1:0", $"--control-plane={controlPlane}", "--endpoint=recommend", $"--token={Token}",
            "--Serving:LogLevel=Warning", $"--Artifacts:Root={models.Folder}"]));

    private static async Task<EndpointObserved> ReportAsync(FakeControlPlane controlPlane, long revision)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (controlPlane.Reports.LastOrDefault(r => r.Revision == revision) is { } report) return report;
            await Task.Delay(20);
        }
        throw new TimeoutException($"no report of revision {revision}");
    }
}
