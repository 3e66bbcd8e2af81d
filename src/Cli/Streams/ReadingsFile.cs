using System.Globalization;
using EventMlOps.Contracts.Streams;

namespace EventMlOps.Cli.Streams;

/// <summary>The sensor CSV the anomaly trainer reads (src/Training/Anomaly/SensorCsvLoader.cs): a header, a <c>timestamp</c>
/// column (ISO 8601, UTC when it has no offset, or Unix milliseconds), an optional <c>machine</c> column, an optional
/// <c>label</c> column (ignored here) and one numeric column per feature. Read lazily, in file order, so that any size
/// streams; a malformed line is an error naming its line and column, never quoting the file.</summary>
public sealed class ReadingsFile(string path)
{
    public IReadOnlyList<string> Features { get; private set; } = [];

    public IEnumerable<SensorReading> Read()
    {
        using var reader = new StreamReader(path);
        var header = Split(reader.ReadLine() ?? throw new CliError($"{path}: empty file"));
        int Column(string name) => Array.FindIndex(header, c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase));
        var (timestamp, machine, label) = (Column("timestamp"), Column("machine"), Column("label"));
        if (timestamp < 0) throw new CliError($"{path}: line 1: the header has no 'timestamp' column");
        var features = Enumerable.Range(0, header.Length).Where(c => c != timestamp && c != machine && c != label).ToArray();
        if (features.Length == 0) throw new CliError($"{path}: line 1: no feature columns besides timestamp, machine and label");
        Features = [.. features.Select(c => header[c])];
        var line = 1;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var fields = Split(text);
            if (fields.Length != header.Length) throw new CliError($"{path}: line {line}: expected {header.Length} comma-separated fields (as the header), found {fields.Length}");
            var values = new double[features.Length];
            for (var f = 0; f < features.Length; f++)
                if (!double.TryParse(fields[features[f]], NumberStyles.Float, CultureInfo.InvariantCulture, out values[f]) || !double.IsFinite(values[f]))
                    throw new CliError($"{path}: line {line}: column {features[f] + 1} is not a finite number");
            var name = machine >= 0 ? fields[machine] : "machine-1";
            if (!SensorReadings.IsMachine(name)) throw new CliError($"{path}: line {line}: column {machine + 1} is not a machine name (1-{SensorReadings.MaxMachineLength} letters, digits, '.', '_', '-' or ':')");
            yield return new SensorReading(name, Time(fields[timestamp]) ?? throw new CliError($"{path}: line {line}: column {timestamp + 1} is neither ISO 8601 nor a number"), values);
        }
    }

    private static DateTimeOffset? Time(string text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    private static string[] Split(string line) => [.. line.Split(',').Select(f => f.Trim().Trim('"'))];
}
