using System.Globalization;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Anomaly;

/// <summary>Reads sensor exports from CSV: a header, a <c>timestamp</c> column (ISO 8601, read as UTC when it has
/// no offset, or a number such as Unix seconds), an optional <c>machine</c> column, an optional <c>label</c> column
/// (used only for evaluation: empty, 0, false, no or normal mean normal; 1, true, yes or anomaly mean an anomaly of
/// unknown kind; any other text is the anomaly's kind) and one numeric column per feature (all remaining columns,
/// or those named by <c>features</c>, in that order). Readings are ordered by time per machine. A malformed line is
/// a <see cref="UsageException"/> naming the file, line and column by number and never quoting them (not even the
/// header's names): any file may be given as data, and the message reaches a run's failure reason.</summary>
public static class SensorCsvLoader
{
    public static SensorData Load(string path, IReadOnlyList<string> features)
    {
        using var reader = new StreamReader(path);
        return Load(reader, path, features);
    }

    public static SensorData Load(TextReader reader, string name, IReadOnlyList<string> wanted)
    {
        var header = reader.ReadLine() ?? throw new UsageException($"{name}: empty file");
        var columns = Split(header).Select(c => c.Trim()).ToArray();
        int Column(string column) => Array.FindIndex(columns, c => string.Equals(c, column, StringComparison.OrdinalIgnoreCase));
        var timestamp = Column("timestamp");
        if (timestamp < 0) throw new UsageException($"{name}: line 1: the header has no 'timestamp' column");
        var machine = Column("machine");
        var label = Column("label");
        int[] featureColumns;
        if (wanted.Count > 0)
            featureColumns = wanted.Select(f => Column(f) is var c && c >= 0 ? c : throw new UsageException($"{name}: line 1: no column '{f}' (--features)")).ToArray();
        else
            featureColumns = Enumerable.Range(0, columns.Length).Where(c => c != timestamp && c != machine && c != label).ToArray();
        if (featureColumns.Length == 0) throw new UsageException($"{name}: line 1: no feature columns besides timestamp, machine and label");
        var features = featureColumns.Select(c => columns[c]).ToArray();

        var rows = new Dictionary<string, List<(long Time, float[] Values, string? Label, int Line)>>(StringComparer.Ordinal);
        var order = new List<string>();
        var numericTimes = false;
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = Split(line);
            if (fields.Length != columns.Length)
                throw new UsageException($"{name}: line {lineNumber}: expected {columns.Length} comma-separated fields (as the header), found {fields.Length}");
            var (time, numeric) = ParseTime(fields[timestamp].Trim())
                       ?? throw new UsageException($"{name}: line {lineNumber}: column {timestamp + 1} (timestamp) is neither ISO 8601 nor a number");
            numericTimes |= numeric;
            var values = new float[featureColumns.Length];
            for (var f = 0; f < featureColumns.Length; f++)
                if (!float.TryParse(fields[featureColumns[f]].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[f]) || !float.IsFinite(values[f]))
                    throw new UsageException($"{name}: line {lineNumber}: column {featureColumns[f] + 1} (feature {f + 1} of {featureColumns.Length}) is not a finite number");
            var key = machine >= 0 ? fields[machine].Trim() : "machine-1";
            if (!rows.TryGetValue(key, out var list))
            {
                rows[key] = list = [];
                order.Add(key);
            }
            list.Add((time, values, label >= 0 ? Label(fields[label].Trim()) : null, lineNumber));
        }
        if (order.Count == 0) throw new UsageException($"{name}: no readings");
        var machines = order.Select(key =>
        {
            var list = rows[key].OrderBy(r => r.Time).ThenBy(r => r.Line).ToList();
            var values = new float[list.Count * features.Length];
            for (var i = 0; i < list.Count; i++) list[i].Values.CopyTo(values, i * features.Length);
            return new MachineSeries
            {
                Machine = key,
                Timestamps = list.Select(r => r.Time).ToArray(),
                Values = values,
                Labels = label >= 0 ? list.Select(r => r.Label).ToArray() : null,
                Lines = list.Select(r => r.Line).ToArray(),
            };
        }).ToList();
        return new SensorData { Features = features, Machines = machines, NumericTimes = numericTimes };
    }

    /// <summary>A number (within ±2⁶², kept in its own unit) or a date (Unix milliseconds).</summary>
    private static (long Time, bool Numeric)? ParseTime(string text)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            return double.IsFinite(number) && Math.Abs(number) <= 4.6e18 ? ((long)number, true) : null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? (t.ToUnixTimeMilliseconds(), false) : null;
    }

    private static string? Label(string text) => text.ToLowerInvariant() switch
    {
        "" or "0" or "false" or "no" or "normal" => null,
        "1" or "true" or "yes" or "anomaly" => "anomaly",
        _ => text,
    };

    private static string[] Split(string line) => line.Split(',').Select(f => f.Trim().Trim('"')).ToArray();
}
