using EventMlOps.Serving.Tests.Testing;

namespace EventMlOps.Serving.Tests.Observability;

public class ObservabilityTests(TrainedModels models)
{
    [Fact]
    public async Task Given_served_requests_When_metrics_are_scraped_Then_latency_in_flight_queue_batches_errors_and_versions_are_there()
    {
        var host = await models.SharedAsync();
        await host.GetJson("/recommend?user_id=1");
        await host.GetJson("/recommend?user_id=oops");

        var metrics = await host.Client.GetStringAsync("/metrics");

        foreach (var name in new[]
                 {
                     "emo_serving_request_duration_seconds_bucket", "emo_serving_requests_in_flight", "emo_serving_queue_depth",
                     "emo_serving_batch_size_bucket", "emo_serving_errors_total", "emo_serving_versions_loaded", "emo_serving_versions_weight_percent",
                 })
            metrics.ShouldContain(name);
        metrics.ShouldContain("""emo_serving_request_duration_seconds_count{otel_scope_name="EventMlOps.Serving",model="rec",route="recommend",status_class="2xx",version="1"} """);
        metrics.ShouldContain("""emo_serving_request_duration_seconds_count{otel_scope_name="EventMlOps.Serving",model="",route="recommend",status_class="4xx",version=""} """);
        metrics.ShouldContain("""kind="bad_input",route="recommend""");
        metrics.ShouldContain("""emo_serving_versions_loaded{otel_scope_name="EventMlOps.Serving",model="sensors",version="1"} 1""");
    }
}
