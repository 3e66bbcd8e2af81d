namespace EventMlOps.Models;

/// <summary>The metadata_props keys the trainers write and serving reads (meanings: src/Training/README.md).</summary>
public static class ModelMetadata
{
    public const string ModelKind = "model_kind";
    public const string Architecture = "architecture";
    public const string FeatureSchema = "feature_schema";
    public const string Evaluation = "evaluation";

    public const string Recommender = "recommender";
    public const string UserCount = "user_count";
    public const string ItemCount = "item_count";
    public const string UserIdMapping = "user_id_mapping";
    public const string UserIdOffset = "user_id_offset";
    public const string ItemIdMapping = "item_id_mapping";
    public const string ItemIdOffset = "item_id_offset";
    /// <summary>Most popular item indices first, comma-separated: the fallback for unknown users.</summary>
    public const string PopularItems = "popular_items";
    /// <summary><see cref="Models.SeenItems"/>, base64.</summary>
    public const string SeenItems = "seen_items";

    public const string Anomaly = "anomaly";
    public const string Features = "features";
    public const string Window = "window";
    public const string Stride = "stride";
    public const string Normalisation = "normalisation";
    public const string ResidualScale = "residual_scale";
    public const string Threshold = "threshold";
    public const string TargetFpr = "target_fpr";
    public const string Score = "score";
    public const string SamplingInterval = "sampling_interval";
    /// <summary>Slots a gap in the readings may be filled over with the last reading (<see cref="EventTime.Carries"/>); absent: 0.</summary>
    public const string GapFill = "gap_fill";

    /// <summary>A detector's <see cref="GapFill"/>: 0 when absent (models from before gap filling), -1 when it is no count
    /// (for the reader to refuse, as it refuses one not under the window).</summary>
    public static int GapFillOf(IReadOnlyDictionary<string, string> metadata) =>
        metadata.GetValueOrDefault(GapFill) is not { Length: > 0 } text ? 0
        : int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var slots) ? slots : -1;

    /// <summary>For rehearsing rollbacks (<see cref="Models.InjectedFaults"/>): milliseconds serving adds to each
    /// inference request this version serves. Absent: none.</summary>
    public const string FaultLatencyMs = "emo.fault.latency_ms";

    /// <summary>For rehearsing rollbacks (<see cref="Models.InjectedFaults"/>): the probability (0..1) that serving
    /// fails an inference request this version serves with a 500. Absent: none.</summary>
    public const string FaultErrorRate = "emo.fault.error_rate";
}
