using System.Net;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>The control plane answers what every host answers (src/Hosting): liveness, readiness that the event store
/// answers, and its metrics for a Prometheus scrape — without a token, and without exposing anything of the API.</summary>
public sealed class ServiceDefaultsTests(ControlPlaneFixture fx)
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

        var metrics = await anonymous.GetStringAsync("/metrics", Ct);

        metrics.ShouldContain("service_name=\"emo-controlplane\"");
        metrics.ShouldContain("http_server_request_duration_seconds");
        metrics.ShouldContain("http_route=\"/api/models\"");
        metrics.ShouldNotContain("vera", Case.Sensitive, "no caller's name or token travels into a metric label");
    }

    [Fact]
    public void Given_no_configured_store_When_the_control_plane_is_built_Then_it_says_what_to_set_and_starts_no_database() =>
        Should.Throw<InvalidOperationException>(() => ControlPlaneApp.Build([$"--EMO_HOME={TestHost.Folder("emo-no-store-")}"]))
            .Message.ShouldContain("EMO_POSTGRES");
}
