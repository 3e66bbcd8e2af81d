using System.Text;
using System.Text.Json;

namespace EventMlOps.Agents.Training;

/// <summary>One <c>EMO_EPOCH {"epoch":1,"epochs":10,"seconds":2.1,"metrics":{"loss":0.35}}</c> line.</summary>
public sealed record EpochLine(int Epoch, int? Epochs, double? Seconds, IReadOnlyDictionary<string, double> Metrics);

/// <summary>The trainer's side of the contract: progress lines on stdout and files in its <c>--out</c> folder.</summary>
public static class TrainerOutput
{
    public const string EpochPrefix = "EMO_EPOCH ";
    public const string ResultPrefix = "EMO_RESULT ";
    public const string Model = "model.onnx";
    public const string MetricsFile = "metrics.json";

    /// <summary>The other outputs stored beside the model, by the name they are reported under.</summary>
    public static readonly IReadOnlyList<(string Name, string File)> Outputs =
        [("baseline", "baseline.json"), ("params", "params.json"), ("metrics", MetricsFile)];

    /// <summary>The epoch a log line reports, or null for any other line (including a malformed progress line:
    /// progress is informative, the outcome is decided by the exit code and the files).</summary>
    public static EpochLine? ParseEpoch(string line)
    {
        if (Payload(line, EpochPrefix) is not { } json) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("epoch", out var epoch) || !epoch.TryGetInt32(out var n) || n < 1)
                return null;
            return new EpochLine(n,
                root.TryGetProperty("epochs", out var total) && total.TryGetInt32(out var t) ? t : null,
                root.TryGetProperty("seconds", out var seconds) && seconds.TryGetDouble(out var s) ? s : null,
                root.TryGetProperty("metrics", out var metrics) ? Numbers(metrics) : new Dictionary<string, double>());
        }
        catch (JsonException) { return null; }
    }

    /// <summary>The metrics of an <c>EMO_RESULT {"metrics":{…}}</c> line, or null.</summary>
    public static IReadOnlyDictionary<string, double>? ParseResult(string line)
    {
        if (Payload(line, ResultPrefix) is not { } json) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("metrics", out var metrics)
                ? Numbers(metrics)
                : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>Reads <c>metrics.json</c>, a flat <c>{name: number}</c> object (other values are skipped).</summary>
    /// <exception cref="InvalidDataException">The file is not a JSON object.</exception>
    public static IReadOnlyDictionary<string, double> ReadMetricsFile(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path, Encoding.UTF8));
            return doc.RootElement.ValueKind == JsonValueKind.Object
                ? Numbers(doc.RootElement)
                : throw new InvalidDataException($"{path} is not a JSON object of metrics");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}");
        }
    }

    private static string? Payload(string line, string prefix)
    {
        var trimmed = line.TrimStart();
        return trimmed.StartsWith(prefix, StringComparison.Ordinal) ? trimmed[prefix.Length..] : null;
    }

    private static Dictionary<string, double> Numbers(JsonElement obj)
    {
        var numbers = new Dictionary<string, double>();
        if (obj.ValueKind != JsonValueKind.Object) return numbers;
        foreach (var p in obj.EnumerateObject())
            if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetDouble(out var v) && double.IsFinite(v))
                numbers[p.Name] = v;
        return numbers;
    }
}

/// <summary>Reads a growing log file line by line from where it stopped last time; a line still being written stays
/// for the next read (unless the writer is done: <see cref="ReadLines(bool)"/> with <c>toEnd</c>).</summary>
internal sealed class LogReader(string path)
{
    private long _offset;
    private byte[] _partial = [];

    public IReadOnlyList<string> ReadLines(bool toEnd)
    {
        var lines = new List<string>();
        if (File.Exists(path))
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.Length < _offset) (_offset, _partial) = (0, []); // truncated or replaced: start over
            file.Seek(_offset, SeekOrigin.Begin);
            using var chunk = new MemoryStream();
            chunk.Write(_partial);
            file.CopyTo(chunk);
            _offset = file.Position;
            var bytes = chunk.ToArray();
            var start = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != (byte)'\n') continue;
                lines.Add(Encoding.UTF8.GetString(bytes, start, i - start).TrimEnd('\r'));
                start = i + 1;
            }
            _partial = bytes[start..];
        }
        if (toEnd && _partial.Length > 0)
        {
            lines.Add(Encoding.UTF8.GetString(_partial).TrimEnd('\r'));
            _partial = [];
        }
        return lines;
    }
}
