using System.Net;
using System.Text.RegularExpressions;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Tests.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>The control plane answers what every host answers (src/Hosting): liveness, readiness that the event store
/// answers, and its metrics for a Prometheus scrape — without a token, and without exposing anything of the API.</summary>
public sealed partial class ServiceDefaultsTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_the_control_plane_When_probed_and_scraped_Then_health_and_request_metrics_answer()
    {
        using var anonymous = fx.Client();
        (await anonymous.GetAsync("/health/live", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var ready = await anonymous.GetAsync("/health/ready", Ct);
        (await ready.Content.ReadAsStringAsync(Ct)).ShouldBe("Healthy");
        using var viewer = fx.Client(Roles.Viewer, "vera");
        (await viewer.GetAsync("/api/models", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // ASP.NET Core records a request's duration once its response has been sent: the scrape may come first.
        var metrics = await ScrapeUntilAsync(anonymous, m => m.Contains("http_route=\"/api/models\""));

        metrics.ShouldContain("service_name=\"emo-controlplane\"");
        metrics.ShouldContain("http_server_request_duration_seconds");
        metrics.ShouldContain("http_route=\"/api/models\"");
        metrics.ShouldNotContain("vera", Case.Sensitive, "no caller's name or token travels into a metric label");
    }

    [Fact]
    public async Task Given_two_control_planes_in_one_process_When_each_answers_and_one_stops_Then_the_other_counts_only_its_own_requests_and_keeps_counting()
    {
        var first = await fx.StartAsync("metrics_first");
        var second = await fx.StartAsync("metrics_second");
        using var toFirst = new HttpClient { BaseAddress = Address(first) };
        using var toSecond = new HttpClient { BaseAddress = Address(second) };
        for (var i = 0; i < 3; i++)
            await toFirst.GetAsync("/health/live", Ct);
        await toSecond.GetAsync("/health/live", Ct);
        await ScrapeUntilAsync(toSecond, m => LiveRequests(m) >= 1);

        await first.StopAsync(Ct);
        await first.DisposeAsync();
        await toSecond.GetAsync("/health/live", Ct);

        try
        {
            LiveRequests(await ScrapeUntilAsync(toSecond, m => LiveRequests(m) >= 2)).ShouldBe(2, "the first host's three requests are not the second's");
            LiveRequests(await toSecond.GetStringAsync("/metrics", Ct)).ShouldBe(2, "and the series outlives the host that stopped");
        }
        finally
        {
            await second.StopAsync(Ct);
            await second.DisposeAsync();
        }
    }

    [Fact]
    public void Given_no_configured_store_When_the_control_plane_is_built_Then_it_says_what_to_set_and_starts_no_database() =>
        Should.Throw<InvalidOperationException>(() => ControlPlaneApp.Build([$"--EMO_HOME={TestHost.Folder("emo-no-store-")}"]))
            .Message.ShouldContain("EMO_POSTGRES");

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static int LiveRequests(string metrics) =>
        LiveCount().Matches(metrics).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<string> ScrapeUntilAsync(HttpClient client, Func<string, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var metrics = await client.GetStringAsync("/metrics", Ct);
            if (until(metrics) || DateTime.UtcNow > deadline) return metrics;
            await Task.Delay(100, Ct);
        }
    }

    [GeneratedRegex("""^http_server_request_duration_seconds_count\{[^}]*http_route="/health/live"[^}]*\} (\d+)""", RegexOptions.Multiline)]
    private static partial Regex LiveCount();
}
