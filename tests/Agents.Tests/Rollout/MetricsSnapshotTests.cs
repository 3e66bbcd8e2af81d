using EventMlOps.Agents.Rollout;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Agents.Tests.Rollout;

/// <summary>Reading a serving replica's Prometheus text as the rollout agent does: lines exactly as emo-serve's
/// exporter prints them (see src/Serving/README.md).</summary>
public class MetricsSnapshotTests
{
    private const string Labels = "otel_scope_name=\"EventMlOps.Serving\",model=\"rec\",route=\"recommend\"";

    private static string Series(int version, string status, params (string Le, long Count)[] buckets) => string.Join('\n',
        buckets.Select(b => $"emo_serving_request_duration_seconds_bucket{{{Labels},status_class=\"{status}\",version=\"{version}\",le=\"{b.Le}\"}} {b.Count}")
            .Append($"emo_serving_request_duration_seconds_count{{{Labels},status_class=\"{status}\",version=\"{version}\"}} {buckets[^1].Count}"));

    private static string Weight(int version, int percent) =>
        $"emo_serving_versions_weight_percent{{otel_scope_name=\"EventMlOps.Serving\",model=\"rec\",version=\"{version}\"}} {percent}";

    [Fact]
    public void Given_two_scrapes_When_a_version_is_measured_between_them_Then_its_requests_server_errors_and_p95_count_only_what_happened_since()
    {
        var before = MetricsSnapshot.Parse(string.Join('\n',
            "# TYPE emo_serving_request_duration_seconds histogram",
            Series(2, "2xx", ("0.001", 10), ("0.002", 10), ("0.005", 10), ("+Inf", 10)),
            Weight(1, 90), Weight(2, 10)), "rec");
        var after = MetricsSnapshot.Parse(string.Join('\n',
            Series(2, "2xx", ("0.001", 10), ("0.002", 90), ("0.005", 110), ("+Inf", 110)),
            Series(2, "5xx", ("0.001", 0), ("0.002", 0), ("0.005", 5), ("+Inf", 5)),
            Series(2, "4xx", ("0.001", 50), ("0.002", 50), ("0.005", 50), ("+Inf", 50)),
            Series(1, "2xx", ("0.001", 400), ("0.002", 400), ("0.005", 400), ("+Inf", 400)),
            $"emo_serving_request_duration_seconds_count{{{Labels.Replace("rec", "other")},status_class=\"5xx\",version=\"2\"}} 99",
            Series(2, "2xx", ("0.001", 70), ("0.002", 70), ("0.005", 70), ("+Inf", 70)).Replace("recommend", "ready"),
            Weight(1, 50), Weight(2, 50)), "rec");

        var canary = after.Since(before, 2);

        (canary.Requests, canary.Errors).ShouldBe((105, 5), "4xx are the callers' mistakes; readiness probes and another model's series are not this one's");
        // 105 new answers: 80 in (1, 2] ms, 25 in (2, 5] ms; the 95th percentile (rank 99.75) lies 19.75 into the second bucket of 25.
        canary.P95Ms.ShouldBe(2 + 3 * 19.75 / 25, 1e-9);
        var stable = after.Since(before, 1);
        (stable.Requests, stable.Errors).ShouldBe((400, 0));
        stable.P95Ms.ShouldBe(0.95, 1e-9, "all within the first bucket: interpolated from 0");
        after.Weights.ShouldBe(new Dictionary<int, double> { [1] = 50, [2] = 50 });
        after.Since(before, 3).ShouldBe(new VersionMetrics(0, 0, 0));
    }

    [Fact]
    public void Given_a_rank_in_the_open_bucket_When_the_quantile_is_taken_Then_it_is_the_highest_finite_bound_as_in_prometheus()
    {
        MetricsSnapshot.Quantile([0.1, 0.25, double.PositiveInfinity], [0, 1, 100], 0.95).ShouldBe(0.25);
        MetricsSnapshot.Quantile([0.1, double.PositiveInfinity], [0, 0], 0.95).ShouldBe(0);
    }

    [Fact]
    public void Given_escaped_label_values_comments_and_a_timestamp_When_parsed_Then_each_sample_has_its_name_labels_and_value()
    {
        var samples = MetricsSnapshot.Samples("""
            # HELP x the "help"
            x{a="q\"uote",b="back\\slash"} 1.5 1700000000
            y 2
            broken{a="1" 3
            """).ToList();

        samples.Select(s => (s.Name, s.Value)).ShouldBe([("x", 1.5), ("y", 2.0)]);
        samples[0].Labels.ShouldBe(new Dictionary<string, string> { ["a"] = "q\"uote", ["b"] = "back\\slash" });
    }

    [Fact]
    public void Given_two_replicas_When_summed_Then_histograms_and_counts_add_up_and_a_weight_counts_only_where_every_replica_applies_it()
    {
        var a = MetricsSnapshot.Parse(string.Join('\n',
            Series(2, "2xx", ("0.001", 10), ("0.005", 30), ("+Inf", 30)),
            Series(2, "5xx", ("0.001", 0), ("0.005", 2), ("+Inf", 2)),
            Weight(1, 90), Weight(2, 10)), "rec") with { Replicas = "a@1" };
        var b = MetricsSnapshot.Parse(string.Join('\n',
            Series(2, "2xx", ("0.001", 5), ("0.005", 60), ("+Inf", 70)),
            Weight(1, 50), Weight(2, 50)), "rec") with { Replicas = "b@1" };

        var sum = MetricsSnapshot.Sum([a, b]);

        var v2 = sum.Since(MetricsSnapshot.Empty, 2);
        (v2.Requests, v2.Errors).ShouldBe((102, 2));
        sum.Versions[2].Cumulative.ShouldBe([15.0, 92.0, 102.0]);
        sum.Weights.ShouldBeEmpty("replica b does not serve replica a's split yet");
        MetricsSnapshot.Sum([a, a with { Replicas = "c@1" }]).Weights.ShouldBe(a.Weights);
        sum.Replicas.ShouldBe("a@1,b@1");
    }
}
