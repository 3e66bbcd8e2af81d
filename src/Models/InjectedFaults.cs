using System.Globalization;

namespace EventMlOps.Models;

/// <summary>Faults a model version carries on purpose, to rehearse automatic rollbacks with a deliberately bad
/// version: <see cref="LatencyMs"/> added to each inference request it serves and the probability
/// <see cref="ErrorRate"/> of failing such a request with a 500. The trainers write them (hyperparameters
/// <c>fault_latency_ms</c>, <c>fault_error_rate</c>) into metadata_props under <see cref="ModelMetadata.FaultLatencyMs"/>
/// and <see cref="ModelMetadata.FaultErrorRate"/>, only when not zero; serving reads them back and applies them.</summary>
public sealed record InjectedFaults(int LatencyMs, double ErrorRate)
{
    public const int MaxLatencyMs = 600_000;

    public static readonly InjectedFaults None = new(0, 0);

    public bool Any => LatencyMs > 0 || ErrorRate > 0;

    /// <summary>Why a request failed by <see cref="ErrorRate"/>: <c>injected fault (emo.fault.error_rate=0.5)</c>.</summary>
    public string ErrorReason => $"injected fault ({ModelMetadata.FaultErrorRate}={Text(ErrorRate)})";

    /// <summary>The faults in words, e.g. <c>latency 300 ms, error rate 0.5</c>.</summary>
    public string Describe() =>
        string.Join(", ", new[] { LatencyMs > 0 ? $"latency {Text(LatencyMs)} ms" : null, ErrorRate > 0 ? $"error rate {Text(ErrorRate)}" : null }.OfType<string>()) is { Length: > 0 } words
            ? words : "none";

    /// <summary>The metadata_props entries: only the faults that are not zero (absent = no fault).</summary>
    public IEnumerable<KeyValuePair<string, string>> Metadata()
    {
        if (LatencyMs > 0) yield return new(ModelMetadata.FaultLatencyMs, Text(LatencyMs));
        if (ErrorRate > 0) yield return new(ModelMetadata.FaultErrorRate, Text(ErrorRate));
    }

    /// <summary>The faults in a model's metadata_props; <see cref="None"/> when it has neither key.</summary>
    /// <exception cref="InvalidDataException">A value that is not a whole number of milliseconds in
    /// [0, <see cref="MaxLatencyMs"/>] or a probability in [0, 1].</exception>
    public static InjectedFaults Read(IReadOnlyDictionary<string, string> metadata)
    {
        var latency = 0;
        var rate = 0.0;
        if (metadata.TryGetValue(ModelMetadata.FaultLatencyMs, out var latencyText)
            && (!int.TryParse(latencyText, NumberStyles.None, CultureInfo.InvariantCulture, out latency) || latency > MaxLatencyMs))
            throw new InvalidDataException($"{ModelMetadata.FaultLatencyMs} must be whole milliseconds from 0 to {MaxLatencyMs}, not '{latencyText}'");
        if (metadata.TryGetValue(ModelMetadata.FaultErrorRate, out var rateText)
            && (!double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out rate) || !(rate is >= 0 and <= 1)))
            throw new InvalidDataException($"{ModelMetadata.FaultErrorRate} must be a probability from 0 to 1, not '{rateText}'");
        return latency == 0 && rate == 0 ? None : new InjectedFaults(latency, rate);
    }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}
