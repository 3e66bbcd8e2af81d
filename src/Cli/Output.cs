using System.Globalization;

namespace EventMlOps.Cli;

/// <summary>A plain-text table: columns as wide as their widest cell, two spaces apart; columns marked
/// <see cref="WideOnly"/> only with <c>-o wide</c> (kubectl's habit), so that the default view stays narrow.</summary>
public sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];
    private readonly HashSet<int> _wideOnly = [];

    public Table WideOnly(params string[] names)
    {
        foreach (var name in names)
            _wideOnly.Add(Array.IndexOf(headers, name) is >= 0 and var i ? i : throw new ArgumentException($"no column {name}", nameof(names)));
        return this;
    }

    public Table Row(params object?[] cells)
    {
        _rows.Add([.. cells.Select(c => c switch { null => "-", string s => s, _ => Convert.ToString(c, CultureInfo.InvariantCulture) ?? "-" })]);
        return this;
    }

    public void WriteTo(TextWriter w, string empty = "(none)", string indent = "", bool wide = false)
    {
        if (_rows.Count == 0)
        {
            w.WriteLine(indent + empty);
            return;
        }
        int[] shown = [.. Enumerable.Range(0, headers.Length).Where(i => wide || !_wideOnly.Contains(i))];
        var widths = shown.Select(i => Math.Max(headers[i].Length, _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        void Line(IReadOnlyList<string> cells) =>
            w.WriteLine(indent + string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
        Line([.. shown.Select(i => headers[i])]);
        Line([.. widths.Select(n => new string('-', n))]);
        foreach (var row in _rows) Line([.. shown.Select(i => i < row.Length ? row[i] : "")]);
    }
}

/// <summary>How values read in human output.</summary>
public static class Fmt
{
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset? t) => t is { } v ? Time(v) : "-";

    public static string Numbers(IReadOnlyDictionary<string, double>? values) =>
        values is null || values.Count == 0 ? "-" : string.Join(" ", values.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Number(kv.Value)}"));

    /// <summary>A run's hyperparameters and text options, in one name order (<c>epochs=15 hidden=256,64,8 lr=0.001</c>).</summary>
    public static string Params(IReadOnlyDictionary<string, double>? numbers, IReadOnlyDictionary<string, string>? options) =>
        (numbers?.Count ?? 0) + (options?.Count ?? 0) == 0 ? "-" : string.Join(" ", (numbers ?? new Dictionary<string, double>()).Select(kv => (kv.Key, Text: Number(kv.Value)))
            .Concat((options ?? new Dictionary<string, string>()).Select(kv => (kv.Key, Text: kv.Value))).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Text}"));

    /// <summary>The few metrics a table has room for: the quality figures first, at most four.</summary>
    public static string Headline(IReadOnlyDictionary<string, double>? values)
    {
        if (values is null || values.Count == 0) return "-";
        string[] preferred = ["hr@10", "ndcg@10", "baseline_hr@10", "tpr", "fpr", "auc", "loss"];
        var keys = preferred.Where(values.ContainsKey).Concat(values.Keys.Order(StringComparer.Ordinal).Except(preferred)).Take(4);
        return string.Join(" ", keys.Select(k => $"{k}={Number(values[k])}"));
    }

    /// <summary>Four decimals, or scientific notation for tiny values (an ONNX parity difference of 3e-7 is not 0).</summary>
    public static string Number(double value) =>
        value.ToString(value != 0 && Math.Abs(value) < 1e-3 ? "0.##e+0" : "0.####", CultureInfo.InvariantCulture);

    public static string Seconds(double? seconds) => seconds is { } s ? s.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "-";

    /// <summary>A metric curve in block characters, lowest to highest; long curves are resampled to 40 columns.</summary>
    public static string Sparkline(IReadOnlyList<double> values)
    {
        const string blocks = "▁▂▃▄▅▆▇█";
        if (values.Count == 0) return "";
        var sampled = values.Count <= 40 ? values : [.. Enumerable.Range(0, 40).Select(i => values[i * (values.Count - 1) / 39])];
        var (min, max) = (sampled.Min(), sampled.Max());
        return string.Concat(sampled.Select(v => max > min ? blocks[(int)Math.Round((v - min) / (max - min) * (blocks.Length - 1))] : blocks[0]));
    }

    /// <summary>The first 12 hex digits: enough to recognize a digest in a table; trees print it whole.</summary>
    public static string ShortSha(string? sha) => sha is { Length: > 12 } ? sha[..12] + "…" : sha ?? "-";
}
