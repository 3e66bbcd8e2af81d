using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using static EventMlOps.ControlPlane.Tests.Endpoints.EndpointHistory;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Drift;

/// <summary>An endpoint decision that ends a version's serving ends its open drift alarm in the same append.</summary>
public class EndingAlarmsTests
{
    private static readonly Guid Alarm = Guid.NewGuid();

    private static readonly object[] AlarmOnV1 =
    [
        .. ServingV1,
        Window(0), Window(1),
        new DriftDetected("rec", "ncf", 1, Alarm, [], Now, Now.AddMinutes(2), 2, "drift-agent", Now.AddMinutes(2)),
    ];

    private static EndpointDriftMeasured Window(int n) =>
        new("rec", "ncf", 1, Now.AddMinutes(n), Now.AddMinutes(n + 1), 500, [], true, "drift-agent", Now.AddMinutes(n + 1));

    private static DriftCleared Cleared(DateTimeOffset at) =>
        new("rec", "ncf", 1, Alarm, Now.AddMinutes(2), "ncf@1 no longer serves on 'rec'", "olga", at);

    [Fact]
    public void Given_an_alarm_on_v1_When_a_canary_of_v2_is_promoted_Then_the_alarm_is_cleared_with_the_promotion()
    {
        var given = Given<EndpointState>([.. AlarmOnV1, new RolloutStarted("rec", R2, "ncf", 2, "file:///v2.onnx", new string('2', 64), RolloutKind.Canary,
            Canary.Steps, 1, "olga", Now.AddMinutes(3))]);
        var at = Now.AddMinutes(10);
        var promoted = EndpointDecisions.Promote(given, new PromoteRollout(Guid.NewGuid(), "rec"), "olga", at);
        EndingAlarms.After(given, promoted, "olga", at).ThenEvents([.. promoted, Cleared(at)]);
    }

    [Fact]
    public void Given_an_alarm_on_v1_When_the_endpoint_is_deleted_Then_the_alarm_is_cleared()
    {
        var given = Given<EndpointState>(AlarmOnV1);
        var deleted = EndpointDecisions.Delete(given, new DeleteEndpoint(Guid.NewGuid(), "rec", "gone"), "olga", Now.AddMinutes(5));
        var events = EndingAlarms.After(given, deleted, "olga", Now.AddMinutes(5));
        events.ThenEvents([.. deleted, Cleared(Now.AddMinutes(5))]);
        Given<EndpointState>([.. AlarmOnV1, .. events])!.Drift!.Single().Alarm.ShouldBeNull();
    }

    [Fact]
    public void Given_an_alarm_on_v1_When_a_canary_of_v2_is_aborted_or_a_replica_reports_Then_v1_still_serves_and_its_alarm_stays()
    {
        var given = Given<EndpointState>([.. AlarmOnV1, new RolloutStarted("rec", R2, "ncf", 2, "file:///v2.onnx", new string('2', 64), RolloutKind.Canary,
            Canary.Steps, 1, "olga", Now.AddMinutes(3))]);
        var aborted = EndpointDecisions.Abort(given, new AbortRollout(Guid.NewGuid(), "rec", "no"), "olga", Now.AddMinutes(4));
        EndingAlarms.After(given, aborted, "olga", Now.AddMinutes(4)).ThenEvents(aborted);
        var observed = EndpointDecisions.RecordObserved(given, Serves(3, 1), "serve-rec", Now.AddMinutes(4));
        EndingAlarms.After(given, observed, "serve-rec", Now.AddMinutes(4)).ThenEvents(observed);
    }

    [Fact]
    public void Given_an_alarm_on_v1_When_an_immediate_rollout_of_v2_starts_Then_the_alarm_stays_until_v2_is_promoted()
    {
        var given = Given<EndpointState>(AlarmOnV1);
        var rollOut = new RollOut(Guid.NewGuid(), "rec", 2, RolloutStrategy.Immediate);
        var started = EndpointDecisions.RollOut(given, Version(2), rollOut, R2, "olga", Now.AddMinutes(3));
        EndingAlarms.After(given, started, "olga", Now.AddMinutes(3)).ThenEvents(started);

        var rolling = Given<EndpointState>([.. AlarmOnV1, .. started])!;
        var promoted = EndpointDecisions.RecordObserved(rolling, Serves(rolling.Revision, 2), "serve-rec", Now.AddMinutes(4));
        EndingAlarms.After(rolling, promoted, "serve-rec", Now.AddMinutes(4)).OfType<DriftCleared>().ShouldHaveSingleItem().ClearedBy.ShouldBe("serve-rec");
    }
}
