using System.Globalization;
using System.Text;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Agents.Rollout;

/// <summary>One version's answered requests in a replica's request-duration histogram, summed over routes: the
/// cumulative bucket counts of 2xx and 5xx answers (4xx are the callers' mistakes, not the version's), and their counts.</summary>
public sealed record VersionHistogram(IReadOnlyList<double> Bounds, IReadOnlyList<double> Cumulative, long Requests, long Errors);

/// <summary>What a serving replica's Prometheus <c>/metrics</c> says about one model's versions at one moment: their
/// request histograms (<c>emo_serving_request_duration_seconds</c> by <c>version</c> and <c>status_class</c>) and the
/// traffic weight each gets (<c>emo_serving_versions_weight…</c>). The difference of two snapshots of the same replicas
/// (<see cref="Replicas"/>: which ones, since when) is what a version did in between. Only inference routes count: probes
/// and metadata reads say nothing of a version's health.</summary>
public sealed record MetricsSnapshot(IReadOnlyDictionary<int, VersionHistogram> Versions, IReadOnlyDictionary<int, double> Weights)
{
    public static readonly IReadOnlySet<string> InferenceRoutes = new HashSet<string>(["recommend", "score", "infer", "stream"]);

    /// <summary>Which replicas were read, each with the moment it started: a restarted or added replica makes another set,
    /// whose counts do not continue the earlier ones.</summary>
    public string? Replicas { get; init; }

    public const string Duration = "emo_serving_request_duration_seconds";
    public const string Weight = "emo_serving_versions_weight";

    public static readonly MetricsSnapshot Empty = new(new Dictionary<int, VersionHistogram>(), new Dictionary<int, double>());

    public static MetricsSnapshot Parse(string text, string model)
    {
        var buckets = new Dictionary<int, SortedDictionary<double, double>>();
        var counts = new Dictionary<int, (long Requests, long Errors)>();
        var weights = new Dictionary<int, double>();
        foreach (var (name, labels, value) in Samples(text))
        {
            if (labels.GetValueOrDefault("model") != model
                || !int.TryParse(labels.GetValueOrDefault("version"), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
                continue;
            if (name.StartsWith(Weight, StringComparison.Ordinal))
            {
                weights[version] = value;
                continue;
            }
            var status = labels.GetValueOrDefault("status_class");
            if (status is not ("2xx" or "5xx") || !InferenceRoutes.Contains(labels.GetValueOrDefault("route") ?? "")) continue;
            if (name == Duration + "_bucket" && ParseBound(labels.GetValueOrDefault("le")) is { } bound)
            {
                var histogram = buckets.TryGetValue(version, out var h) ? h : buckets[version] = new SortedDictionary<double, double>();
                histogram[bound] = histogram.GetValueOrDefault(bound) + value;
            }
            else if (name == Duration + "_count")
            {
                var (requests, errors) = counts.GetValueOrDefault(version);
                counts[version] = (requests + (long)value, errors + (status == "5xx" ? (long)value : 0));
            }
        }
        var versions = buckets.ToDictionary(b => b.Key, b =>
        {
            var (requests, errors) = counts.GetValueOrDefault(b.Key);
            return new VersionHistogram([.. b.Value.Keys], [.. b.Value.Values], requests, errors);
        });
        return new MetricsSnapshot(versions, weights);
    }

    /// <summary>The snapshots of every replica of an endpoint as one: histograms and counts added up (bucket by bucket, as
    /// Prometheus' <c>sum by (le)</c>), a version's weight kept only where every replica applies the same one (a replica
    /// still converging makes the split not yet served).</summary>
    public static MetricsSnapshot Sum(IReadOnlyList<MetricsSnapshot> replicas)
    {
        if (replicas.Count == 1) return replicas[0];
        var versions = replicas.SelectMany(r => r.Versions).GroupBy(v => v.Key).ToDictionary(g => g.Key, g =>
        {
            var buckets = new SortedDictionary<double, double>();
            foreach (var h in g.Select(v => v.Value))
                for (var i = 0; i < h.Bounds.Count; i++)
                    buckets[h.Bounds[i]] = buckets.GetValueOrDefault(h.Bounds[i]) + h.Cumulative[i];
            return new VersionHistogram([.. buckets.Keys], [.. buckets.Values], g.Sum(v => v.Value.Requests), g.Sum(v => v.Value.Errors));
        });
        var weights = replicas.SelectMany(r => r.Weights).GroupBy(w => w.Key)
            .Where(g => g.Count() == replicas.Count && g.Select(w => w.Value).Distinct().Count() == 1)
            .ToDictionary(g => g.Key, g => g.First().Value);
        return new MetricsSnapshot(versions, weights) { Replicas = string.Join(",", replicas.Select(r => r.Replicas)) };
    }

    /// <summary>The version's requests, server errors and p95 latency (ms) since <paramref name="earlier"/>.</summary>
    public VersionMetrics Since(MetricsSnapshot earlier, int version)
    {
        if (!Versions.TryGetValue(version, out var now)) return new VersionMetrics(0, 0, 0);
        var before = earlier.Versions.GetValueOrDefault(version);
        var delta = now.Bounds.Select((bound, i) => now.Cumulative[i] - Before(before, bound)).ToArray();
        return new VersionMetrics(now.Requests - (before?.Requests ?? 0), now.Errors - (before?.Errors ?? 0), Quantile(now.Bounds, delta, 0.95) * 1000);

        static double Before(VersionHistogram? h, double bound)
        {
            if (h is null) return 0;
            for (var i = 0; i < h.Bounds.Count; i++)
                if (h.Bounds[i] == bound) return h.Cumulative[i];
            return 0;
        }
    }

    /// <summary>As Prometheus' <c>histogram_quantile</c>: linear within the bucket that holds the rank; the highest
    /// finite bound when the rank falls in the +Inf bucket; 0 without observations.</summary>
    public static double Quantile(IReadOnlyList<double> bounds, IReadOnlyList<double> cumulative, double q)
    {
        if (cumulative.Count == 0 || cumulative[^1] <= 0) return 0;
        var rank = q * cumulative[^1];
        for (var i = 0; i < bounds.Count; i++)
        {
            if (cumulative[i] < rank) continue;
            if (double.IsPositiveInfinity(bounds[i])) return i > 0 ? bounds[i - 1] : 0;
            var (lower, below) = i == 0 ? (0.0, 0.0) : (bounds[i - 1], cumulative[i - 1]);
            return lower + (bounds[i] - lower) * (rank - below) / (cumulative[i] - below);
        }
        return bounds[^1];
    }

    private static double? ParseBound(string? le) => le switch
    {
        null => null,
        "+Inf" => double.PositiveInfinity,
        _ => double.TryParse(le, NumberStyles.Float, CultureInfo.InvariantCulture, out var b) ? b : null,
    };

    /// <summary>The samples of the Prometheus text format: <c>name{label="value",…} value [timestamp]</c>, comments skipped.</summary>
    public static IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Samples(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0) continue;
            var i = nameEnd;
            if (line[i] == '{' && !TryLabels(line, ref i, labels)) continue;
            var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (rest.Length == 0 || !TryValue(rest[0], out var value)) continue;
            yield return (line[..nameEnd], labels, value);
        }
    }

    private static bool TryValue(string text, out double value)
    {
        value = text switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, _ => double.NaN };
        return !double.IsNaN(value) || double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Reads <c>{a="x",b="y\"z"}</c> from <paramref name="i"/> (at '{'), leaving it after the '}'.</summary>
    private static bool TryLabels(string line, ref int i, Dictionary<string, string> labels)
    {
        i++;
        while (i < line.Length && line[i] != '}')
        {
            var eq = line.IndexOf('=', i);
            if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"') return false;
            var key = line[i..eq].Trim().TrimStart(',').Trim();
            var value = new StringBuilder();
            var j = eq + 2;
            for (; j < line.Length && line[j] != '"'; j++)
            {
                if (line[j] == '\\' && j + 1 < line.Length)
                    value.Append(line[++j] switch { 'n' => '\n', var c => c });
                else
                    value.Append(line[j]);
            }
            if (j >= line.Length) return false;
            labels[key] = value.ToString();
            i = j + 1;
            if (i < line.Length && line[i] == ',') i++;
        }
        if (i >= line.Length) return false;
        i++;
        return true;
    }
}
