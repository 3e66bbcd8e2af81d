using System.Text.Json;
using EventMlOps.Contracts.Drift;

namespace EventMlOps.Agents.Drift;

/// <summary>A feature's training reference for drift: how many training values there were, their population standard
/// deviation, and <paramref name="Values"/> (sorted): all of them up to 1,000, else 1,000 evenly spaced quantiles.</summary>
public sealed record FeatureReference(string Feature, FeatureRole Role, long Count, double Std, double[] Values, bool Categorical);

/// <summary>Reads the references out of a trainer's <c>baseline.json</c>: <c>inputs</c> and <c>outputs</c>, each an
/// object of features with <c>count</c>, <c>std</c>, <c>reference</c> and optionally <c>"categorical": true</c>.</summary>
/// <remarks>The file comes from a training job, so it is hostile: its size, feature count, names and array lengths are
/// bounded (features per section, too), every number must be finite and of the right kind, and errors name the place, never the content. A feature
/// without <c>reference</c> (baselines written before references existed) or without training values is skipped and
/// named in <c>skipped</c> for the caller to log.</remarks>
public static class DriftBaseline
{
    public const int MaxBytes = 16 << 20, MaxFeatures = 1024, MaxNameLength = 128, MaxReference = 1000;

    public static IReadOnlyList<FeatureReference> Parse(ReadOnlySpan<byte> json, ICollection<string>? skipped = null)
    {
        if (json.Length > MaxBytes) throw new InvalidDataException($"the baseline is larger than {MaxBytes >> 20} MiB");
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            throw new InvalidDataException("the baseline is not valid JSON");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException("the baseline is not a JSON object");
            var features = new List<FeatureReference>();
            Read(document.RootElement, "inputs", FeatureRole.Input, features, skipped);
            Read(document.RootElement, "outputs", FeatureRole.Output, features, skipped);
            return features;
        }
    }

    private static void Read(JsonElement root, string section, FeatureRole role, List<FeatureReference> features, ICollection<string>? skipped)
    {
        if (!root.TryGetProperty(section, out var entries)) return;
        if (entries.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"the baseline's {section} is not an object");
        var names = new HashSet<string>(StringComparer.Ordinal);
        var position = 0;
        foreach (var entry in entries.EnumerateObject())
        {
            if (++position > MaxFeatures) throw new InvalidDataException($"the baseline's {section} have more than {MaxFeatures} features");
            var name = entry.Name;
            if (name.Length is 0 or > MaxNameLength || name.Any(char.IsControl))
                throw new InvalidDataException($"the baseline's {section} feature #{position} has no name, a name over {MaxNameLength} characters or control characters");
            if (!names.Add(name)) throw new InvalidDataException($"the baseline's {section} name feature '{name}' twice");
            var where = $"the baseline's {section} feature '{name}'";
            var feature = entry.Value;
            if (feature.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where} is not an object");
            if (!feature.TryGetProperty("reference", out var reference))
            {
                skipped?.Add(name);
                continue;
            }
            var count = Number(feature, "count", where);
            if (count < 0 || count > long.MaxValue / 2 || count != Math.Floor(count)) throw new InvalidDataException($"{where}: count is not a whole number ≥ 0");
            var std = Number(feature, "std", where);
            if (std < 0) throw new InvalidDataException($"{where}: std is negative");
            var categorical = feature.TryGetProperty("categorical", out var flag) && (flag.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? flag.GetBoolean()
                : throw new InvalidDataException($"{where}: categorical is not true or false"));
            var values = Values(reference, (long)count, where);
            if (values.Length == 0) skipped?.Add(name); // no training values: nothing to compare with
            else features.Add(new FeatureReference(name, role, (long)count, std, values, categorical));
        }
    }

    /// <summary>The reference, sorted: all values when there were at most 1,000, else exactly 1,000 quantiles.</summary>
    private static double[] Values(JsonElement reference, long count, string where)
    {
        if (reference.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: reference is not an array");
        var expected = (int)Math.Min(count, MaxReference);
        if (reference.GetArrayLength() != expected)
            throw new InvalidDataException($"{where}: reference has {Math.Min(reference.GetArrayLength(), MaxReference + 1)}{(reference.GetArrayLength() > MaxReference ? "+" : "")} values, not min(count, {MaxReference}) = {expected}");
        var values = new double[expected];
        var i = 0;
        foreach (var value in reference.EnumerateArray())
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var v) || !double.IsFinite(v))
                throw new InvalidDataException($"{where}: reference value #{i + 1} is not a finite number");
            values[i++] = v;
        }
        Array.Sort(values);
        return values;
    }

    private static double Number(JsonElement feature, string property, string where) =>
        feature.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var v) && double.IsFinite(v)
            ? v
            : throw new InvalidDataException($"{where}: {property} is missing or not a finite number");
}
