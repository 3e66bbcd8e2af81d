using System.Globalization;
using System.Text.RegularExpressions;

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>Reads samples out of <c>/metrics</c> (Prometheus' text format, as the OpenTelemetry exporter writes it).</summary>
public static partial class PrometheusText
{
    /// <summary>The sum of the samples of <paramref name="series"/> (say <c>emo_serving_request_duration_seconds_count</c>)
    /// whose labels include all of <paramref name="labels"/>.</summary>
    public static double Sum(string text, string series, params (string Name, string Value)[] labels) =>
        text.Split('\n').Select(l => Sample().Match(l.TrimEnd('\r'))).Where(m => m.Success && m.Groups["name"].Value == series)
            .Where(m => labels.All(want => Label().Matches(m.Groups["labels"].Value).Any(l => l.Groups[1].Value == want.Name && l.Groups[2].Value == want.Value)))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    /// <summary>Scrapes until <paramref name="done"/> holds (a request is recorded as its answer completes, and the
    /// exporter caches a scrape for a moment), at most a few seconds; returns the last scrape.</summary>
    public static async Task<string> ScrapeUntilAsync(this ServingHost host, Func<string, bool> done)
    {
        var text = await host.Client.GetStringAsync("/metrics");
        for (var tries = 0; !done(text) && tries < 15; tries++)
        {
            await Task.Delay(400);
            text = await host.Client.GetStringAsync("/metrics");
        }
        return text;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?<labels>.*)\} (?<value>\S+)""")]
    private static partial Regex Sample();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)" """, RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex Label();
}
