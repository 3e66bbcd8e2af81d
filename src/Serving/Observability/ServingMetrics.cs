using System.Diagnostics;
using System.Diagnostics.Metrics;
using EventMlOps.Serving.Loading;
using EventMlOps.Serving.Routing;

namespace EventMlOps.Serving.Observability;

/// <summary>The serving instruments (meter <see cref="MeterName"/>), exported at <c>/metrics</c> in Prometheus form:
/// <c>emo_serving_request_duration_seconds</c>, <c>emo_serving_requests_in_flight</c>, <c>emo_serving_queue_depth</c>,
/// <c>emo_serving_batch_size</c>, <c>emo_serving_errors_total</c>, <c>emo_serving_versions_loaded</c>,
/// <c>emo_serving_versions_weight_percent</c>.</summary>
public sealed class ServingMetrics
{
    public const string MeterName = "EventMlOps.Serving";

    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _inFlight;
    private readonly Histogram<int> _batchSize;
    private readonly Counter<long> _errors;

    public ServingMetrics(IMeterFactory meters, Router router)
    {
        var meter = meters.Create(MeterName);
        _duration = meter.CreateHistogram("emo.serving.request.duration", "s", "Time from the request's arrival to its response, per route, serving version and status class",
            // Fine enough that a p95 read from the buckets (as the rollout agent does) lands within a few per cent of the truth.
            advice: new InstrumentAdvice<double>
            {
                HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
            });
        _inFlight = meter.CreateUpDownCounter<long>("emo.serving.requests.in_flight", "{request}", "Inference requests being served");
        _batchSize = meter.CreateHistogram("emo.serving.batch.size", "{row}", "Rows run in one batch",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _errors = meter.CreateCounter<long>("emo.serving.errors", "{error}", "Failed requests and refused loads, by kind");
        meter.CreateObservableGauge("emo.serving.queue.depth", () => router.Current.Routes.Select(r => Measure(r.Model.QueueDepth, r.Model)),
            "{request}", "Requests waiting for a version's batcher");
        meter.CreateObservableGauge("emo.serving.versions.loaded", () => router.Current.Routes.Select(r => Measure(1, r.Model)),
            "{version}", "Loaded versions (1 each)");
        meter.CreateObservableGauge("emo.serving.versions.weight", () => router.Current.Routes.Select(r => Measure(r.Weight, r.Model)),
            "%", "Traffic weight of each loaded version");
    }

    /// <summary>One answered request: its route, the version that served it (empty labels when none was chosen) and
    /// the class of its status (<c>status_class</c> "2xx", "4xx", "5xx"), so that the histogram's <c>_count</c> gives
    /// requests and server errors per version.</summary>
    public void Request(string route, ServedModel? model, int status, TimeSpan elapsed) =>
        _duration.Record(elapsed.TotalSeconds, new TagList
        {
            { "route", route },
            { "model", model?.Name ?? "" },
            { "version", model?.VersionText ?? "" },
            { "status_class", StatusClass(status) },
        });

    public static string StatusClass(int status) => status switch
    {
        >= 500 => "5xx",
        >= 400 => "4xx",
        >= 300 => "3xx",
        >= 200 => "2xx",
        _ => "1xx",
    };

    public void InFlight(int delta) => _inFlight.Add(delta);

    public void Batch(string model, int version, int rows) => _batchSize.Record(rows, new("model", model), new("version", version.ToString()));

    public void Error(string kind, string route) => _errors.Add(1, new("kind", kind), new("route", route));

    private static Measurement<int> Measure(int value, ServedModel model) => new(value, new("model", model.Name), new("version", model.VersionText));
}
