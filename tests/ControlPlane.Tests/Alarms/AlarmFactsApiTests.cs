using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Streams;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Alarms;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Alarms;

/// <summary>A stream scorer's alarm facts through the real host, posted by the endpoint's replica: recorded on the endpoint's
/// alarms stream, never on its lifecycle stream, so they do not conflict with a rollout that expects that stream's version.</summary>
public class AlarmFactsApiTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static AnomalyAlarmRaised Raise(Scenario s) => new(Guid.NewGuid(), s.Endpoint, "machine-1", 1, Start, Start.AddMinutes(29), 0.9, 0.2);

    [Fact]
    public async Task Given_a_serving_endpoint_When_its_replica_raises_and_clears_an_alarm_Then_both_land_on_the_alarms_stream_and_a_rollout_expecting_the_endpoint_version_succeeds()
    {
        var s = new Scenario(fx);
        var (_, v2) = await s.ServingV1Async();
        await using var session = fx.Store.LightweightSession();
        var endpointVersion = (await session.Events.FetchStreamStateAsync(StreamKeys.Endpoint(s.Endpoint), Ct))!.Version;

        (await s.Replica.Send("/api/alarms/facts/raised", Raise(s))).EnsureSuccessStatusCode();
        (await s.Replica.Send("/api/alarms/facts/cleared", new AnomalyAlarmCleared(Guid.NewGuid(), s.Endpoint, "machine-1", 1, Start, Start.AddMinutes(60), 4, 1.7)))
            .EnsureSuccessStatusCode();

        (await session.Events.FetchStreamStateAsync(StreamKeys.Endpoint(s.Endpoint), Ct))!.Version.ShouldBe(endpointVersion);
        var alarms = await session.Events.FetchStreamAsync(StreamKeys.Alarms(s.Endpoint), token: Ct);
        alarms.Select(e => e.Data.GetType()).ShouldBe([typeof(AnomalyAlarmRecorded), typeof(AnomalyAlarmEnded)]);
        var audit = await s.Viewer.Get<AuditEntry[]>($"/api/audit?stream=alarms:{s.Endpoint}");
        audit.Select(e => (e.Type, e.Actor)).ShouldBe( // newest first
            [("anomaly_alarm_ended", $"serve-{s.Endpoint}"), ("anomaly_alarm_recorded", $"serve-{s.Endpoint}")]);
        var episode = (await s.Viewer.Get<List<AnomalyEpisode>>($"/api/alarms?endpoint={s.Endpoint}")).ShouldHaveSingleItem();
        (episode.Open, episode.Windows).ShouldBe((false, 4));

        (await s.RollOut(v2, expectedVersion: endpointVersion)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Given_a_deleted_or_unknown_endpoint_When_a_replica_raises_an_alarm_Then_404_and_nothing_is_appended()
    {
        var s = new Scenario(fx);
        await s.CreateEndpoint();
        (await s.Operator.Send("/api/endpoints/delete", new DeleteEndpoint(Guid.NewGuid(), s.Endpoint, "retired"))).EnsureSuccessStatusCode();
        (await s.Replica.Send("/api/alarms/facts/raised", Raise(s))).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var unknown = new Scenario(fx);
        (await unknown.Replica.Send("/api/alarms/facts/raised", Raise(unknown))).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        await using var session = fx.Store.LightweightSession();
        (await session.Events.FetchStreamStateAsync(StreamKeys.Alarms(s.Endpoint), Ct)).ShouldBeNull();
        (await session.Events.FetchStreamStateAsync(StreamKeys.Alarms(unknown.Endpoint), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Given_two_serving_endpoints_When_one_replica_or_a_viewer_reports_an_alarm_of_the_other_Then_403_and_nothing_is_appended()
    {
        var s = new Scenario(fx);
        await s.ServingV1Async();
        var other = new Scenario(fx);
        await other.ServingV1Async();

        // A replica's token speaks for its own endpoint only; nobody else may forge a scorer's facts.
        (await other.Replica.Send("/api/alarms/facts/raised", Raise(s))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await s.Viewer.Send("/api/alarms/facts/raised", Raise(s))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        await using var session = fx.Store.LightweightSession();
        (await session.Events.FetchStreamStateAsync(StreamKeys.Alarms(s.Endpoint), Ct)).ShouldBeNull();
    }
}
