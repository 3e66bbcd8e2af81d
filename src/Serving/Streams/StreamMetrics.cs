using System.Diagnostics.Metrics;

namespace EventMlOps.Serving.Streams;

/// <summary>The stream scorer's instruments (meter <see cref="ServingMetrics.MeterName"/>'s sibling <see cref="MeterName"/>):
/// <c>emo_stream_readings_total{outcome}</c> (placed, late, duplicate, or why one was refused), <c>emo_stream_batches_total{outcome}</c>,
/// <c>emo_stream_windows_total{outcome}</c> (scored, incomplete), <c>emo_stream_scoring_duration_seconds</c> (one model call per
/// batch), <c>emo_stream_event_delay_seconds</c> (a window's end in event time to its score) and <c>emo_stream_lag_seconds</c>
/// (the scorer's clock less the newest event time it has seen).</summary>
public sealed class StreamMetrics
{
    public const string MeterName = "EventMlOps.Streams";

    private readonly Counter<long> _readings, _batches, _windows;
    private readonly Histogram<double> _scoring, _delay;
    private double _lag;

    public StreamMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _readings = meter.CreateCounter<long>("emo.stream.readings", "{reading}", "Readings received, by outcome");
        _batches = meter.CreateCounter<long>("emo.stream.batches", "{batch}", "Batches received, by outcome");
        _windows = meter.CreateCounter<long>("emo.stream.windows", "{window}", "Windows closed, by outcome");
        double[] seconds = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60];
        _scoring = meter.CreateHistogram("emo.stream.scoring.duration", "s", "One batch's windows through the model",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = seconds });
        _delay = meter.CreateHistogram("emo.stream.event.delay", "s", "From a window's end in event time to its score",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = seconds });
        meter.CreateObservableGauge("emo.stream.lag", () => Volatile.Read(ref _lag), "s", "The scorer's clock less the newest event time seen");
    }

    public void Readings(string outcome, long count = 1)
    {
        if (count > 0) _readings.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void Batch(string outcome) => _batches.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Windows(string outcome, long count)
    {
        if (count > 0) _windows.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void Scoring(TimeSpan elapsed) => _scoring.Record(elapsed.TotalSeconds);

    public void Delay(TimeSpan delay) => _delay.Record(Math.Max(0, delay.TotalSeconds));

    public void Lag(TimeSpan lag) => Volatile.Write(ref _lag, lag.TotalSeconds);
}
