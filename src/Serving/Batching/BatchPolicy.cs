using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Observability;

namespace EventMlOps.Serving.Batching;

/// <summary>How every loaded version batches (<c>Serving:MaxBatch</c>, <c>MaxDelayMs</c>, <c>QueueCapacity</c>), with
/// its batch sizes recorded in the metrics.</summary>
public sealed class BatchPolicy(ServingOptions options, ServingMetrics metrics)
{
    public Batcher<TIn, TOut> For<TIn, TOut>(string model, int version, Func<IReadOnlyList<TIn>, int, TOut[]> run) =>
        new($"{model}@{version}", options.MaxBatch, TimeSpan.FromMilliseconds(options.MaxDelayMs), options.QueueCapacity, run,
            rows => metrics.Batch(model, version, rows));
}
