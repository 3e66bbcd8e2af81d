using EventMlOps.Agents.Rollout;

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>Reads samples out of <c>/metrics</c> (Prometheus' text format, as the OpenTelemetry exporter writes it).</summary>
public static class PrometheusText
{
    /// <summary>The sum of the samples of <paramref name="series"/> (say <c>emo_serving_request_duration_seconds_count</c>)
    /// whose labels include all of <paramref name="labels"/>, read with the rollout agent's own parser.</summary>
    public static double Sum(string text, string series, params (string Name, string Value)[] labels) =>
        MetricsSnapshot.Samples(text).Where(s => s.Name == series && labels.All(want => s.Labels.GetValueOrDefault(want.Name) == want.Value))
            .Sum(s => s.Value);

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
}
