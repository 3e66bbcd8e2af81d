using System.Text;
using System.Text.Json;
using EventMlOps.Agents.Runtime;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Training;

/// <summary>One <c>EMO_EPOCH {"epoch":1,"epochs":10,"seconds":2.1,"metrics":{"loss":0.35}}</c> line.</summary>
public sealed record EpochLine(int Epoch, int? Epochs, double? Seconds, IReadOnlyDictionary<string, double> Metrics);

/// <summary>Reads the trainer's side of <see cref="TrainerProtocol"/> from its log lines.</summary>
public static class TrainerOutput
{
    /// <summary>The epoch a log line reports, or null for any other line (including a malformed progress line:
    /// progress is informative, the outcome is decided by the exit code and the files).</summary>
    public static EpochLine? ParseEpoch(string line)
    {
        if (Payload(line, TrainerProtocol.EpochPrefix) is not { } json) return null;
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
        if (Payload(line, TrainerProtocol.ResultPrefix) is not { } json) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("metrics", out var metrics)
                ? Numbers(metrics)
                : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>The output of an <c>EMO_OUTPUT {"name":…,"uri":…,"sha256":…}</c> line naming one of the protocol's outputs, or
    /// null (the claim is checked when the output is adopted).</summary>
    public static PublishedOutput? ParseOutput(string line)
    {
        if (Payload(line, TrainerProtocol.OutputPrefix) is not { } json) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            string? Text(string name) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()
                : null;
            return Text("name") is { } name && TrainerProtocol.Outputs.Any(o => o.Name == name) && Text("uri") is { } uri && Text("sha256") is { } sha256
                ? new PublishedOutput(name, uri, sha256)
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

/// <summary>Reads a job's growing log, through its runtime, line by line from where it stopped last time; a line still
/// being written stays for the next read (unless the job is done: <see cref="ReadLinesAsync"/> with <c>toEnd</c>).</summary>
internal sealed class LogReader(IWorkloadRuntime runtime, string job)
{
    private const int Chunk = 1 << 20;

    /// <summary>A line longer than this is cut there: a job cannot make the agent hold (and rescan) a line without end.</summary>
    public const int MaxLine = 64 * 1024;
    private long _offset;
    private byte[] _partial = [];

    public async Task<IReadOnlyList<string>> ReadLinesAsync(bool toEnd, CancellationToken ct)
    {
        var lines = new List<string>();
        for (LogChunk chunk; (chunk = await runtime.ReadLogAsync(job, _offset, Chunk, ct)).Bytes.Length > 0;)
        {
            if (chunk.Offset - chunk.Bytes.Length < _offset) _partial = []; // the log was cut and read from its start again
            _offset = chunk.Offset;
            var bytes = (byte[])[.. _partial, .. chunk.Bytes];
            var start = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != (byte)'\n') continue;
                lines.Add(Encoding.UTF8.GetString(bytes, start, Math.Min(i - start, MaxLine)).TrimEnd('\r'));
                start = i + 1;
            }
            _partial = bytes[start..];
            if (_partial.Length > MaxLine)
            {
                lines.Add(Encoding.UTF8.GetString(_partial, 0, MaxLine));
                _partial = [];
            }
        }
        if (toEnd && _partial.Length > 0)
        {
            lines.Add(Encoding.UTF8.GetString(_partial).TrimEnd('\r'));
            _partial = [];
        }
        return lines;
    }
}
