using System.Diagnostics;
using System.Diagnostics.Metrics;
using EventMlOps.ControlPlane.Endpoints;
using JasperFx.Events;
using Marten;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>The drift instruments (meter <see cref="MeterName"/>) at <c>/metrics</c>: <c>emo_drift_windows_total{endpoint,verdict}</c>
/// and <c>emo_drift_alarms_total{endpoint}</c>, counted from the recorded events as the work-orders subscription takes
/// them (on the control plane leading the daemon), and <c>emo_drift_alarms_open{endpoint}</c>, read from the endpoints'
/// status on each scrape, so it holds across restarts. Labels are endpoint names — created by operators, never by an
/// agent's report — and two verdicts: no feature label, whatever the agents send.</summary>
public sealed class DriftMetrics
{
    public const string MeterName = "EventMlOps.ControlPlane";

    private readonly Counter<long> _windows, _alarms;

    public DriftMetrics(IMeterFactory meters, IDocumentStore store)
    {
        var meter = meters.Create(MeterName);
        _windows = meter.CreateCounter<long>("emo.drift.windows", "{window}", "Drift windows judged, by endpoint and verdict (drifted, clean)");
        _alarms = meter.CreateCounter<long>("emo.drift.alarms", "{alarm}", "Drift alarms raised, by endpoint");
        meter.CreateObservableGauge("emo.drift.alarms.open", () => OpenAlarms(store), "{alarm}", "Drift alarms open now, by endpoint");
    }

    public void Judged(EndpointDriftMeasured e) => _windows.Add(1, new TagList { { "endpoint", e.Endpoint }, { "verdict", e.Drifted ? "drifted" : "clean" } });

    public void Raised(DriftDetected e) => _alarms.Add(1, new KeyValuePair<string, object?>("endpoint", e.Endpoint));

    private static IEnumerable<Measurement<int>> OpenAlarms(IDocumentStore store)
    {
        using var session = store.QuerySession();
        // The exporter's callback is synchronous (Marten queries are not): one read of the endpoints' status documents per scrape.
        return [.. session.Query<EndpointStatus>().Where(s => s.OpenDriftAlarms != null).ToListAsync().GetAwaiter().GetResult()
            .Select(s => new Measurement<int>(s.OpenDriftAlarms!.Count, new KeyValuePair<string, object?>("endpoint", s.Name)))];
    }
}

/// <summary>Counts judged windows and raised alarms as the work-orders subscription takes their events, each once.</summary>
public static class DriftMetricsHandler
{
    public static void Handle(IEvent<EndpointDriftMeasured> e, DriftMetrics metrics) => metrics.Judged(e.Data);

    public static void Handle(IEvent<DriftDetected> e, DriftMetrics metrics) => metrics.Raised(e.Data);
}
