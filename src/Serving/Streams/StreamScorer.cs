using System.Diagnostics;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Streams;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Observability;
using EventMlOps.Serving.Routing;
using EventMlOps.Serving.Scoring;

namespace EventMlOps.Serving.Streams;

/// <summary>No anomaly version takes traffic yet: the batch is delivered again later (<see cref="StreamBus"/>).</summary>
public sealed class NoAnomalyModel() : Exception("no anomaly model version takes traffic yet");

/// <summary>Scores one endpoint's sensor readings: each batch, checked, goes into its machines' windows; the windows it
/// closes are scored in one call by the version the routing table chooses for the batch (so canaries and rollbacks
/// apply to streams too); episodes decide the facts. Windows, the batch id and the facts are written in one transaction:
/// a batch delivered again changes nothing, and a scorer killed mid-stream resumes where its last batch ended.</summary>
public sealed class StreamScorer(ServingOptions options, Router router, StreamStore store, StreamMetrics metrics, ServingMetrics serving, Samples samples,
    FactSender sender, TimeProvider time, ILogger<StreamScorer> log)
{
    /// <summary>The route name scored batches are counted under in the serving metrics.</summary>
    public const string StreamRoute = "stream";

    private readonly string _endpoint = options.Endpoint ?? throw new ArgumentException("--stream needs --endpoint <name>: the endpoint whose readings to score");

    /// <summary>How long the first batch after a start waits for an anomaly version to load before it is retried later.</summary>
    private static readonly TimeSpan FirstModelWait = TimeSpan.FromSeconds(30);

    private bool _resumed;

    /// <summary>A batch from the bus (one at a time). The first after a start is preceded by the batches the inbox still holds,
    /// in the order they were sent: a killed scorer's uncommitted batches, which Wolverine would hand back only after newer
    /// ones, their readings then behind the watermark. They come again from Wolverine later, as duplicates. It waits for the
    /// model first: a batch retried for want of one would come back after newer ones too.</summary>
    public async Task HandleAsync(SensorReadings batch, CancellationToken ct)
    {
        if (!_resumed)
        {
            var clock = Stopwatch.StartNew();
            while (router.Current is var table && table.Choose(m => m is AnomalyModel) is null && !OnlyOtherModels(table) && clock.Elapsed < FirstModelWait)
                await Task.Delay(100, ct);
            // Held batches matter only to an anomaly model's windows; refused now, they would be counted again when redelivered.
            if (!OnlyOtherModels(router.Current))
                foreach (var held in await store.HeldBatchesAsync(ct)) await ScoreAsync(held, ct);
            _resumed = true;
        }
        await ScoreAsync(batch, ct);
    }

    /// <summary>Only other models loaded (a recommender's replica): no anomaly model will come, so nothing waits for one.</summary>
    private static bool OnlyOtherModels(RoutingTable table) => table.Routes.Count > 0 && table.Routes.All(r => r.Model is not AnomalyModel);

    private async Task ScoreAsync(SensorReadings batch, CancellationToken ct)
    {
        if (Refusal(batch) is { } refused)
        {
            metrics.Batch(refused);
            log.LogWarning("Refused batch {BatchId} of readings: {Reason}", batch.BatchId, refused.Replace('_', ' '));
            return;
        }
        if (router.Acquire(t => t.Choose(m => m is AnomalyModel)) is not { } acquired)
        {
            // Nothing loaded yet (or only an anomaly version without traffic): wait for it.
            if (!OnlyOtherModels(router.Current)) throw new NoAnomalyModel();
            metrics.Batch("not_anomaly");
            log.LogWarning("Refused batch {BatchId} of readings: endpoint {Endpoint} serves no anomaly model", batch.BatchId, _endpoint);
            return;
        }
        using var lease = acquired;
        var model = (AnomalyModel)lease.Model;
        if (!batch.Features.SequenceEqual(model.Features, StringComparer.Ordinal) || model.SamplingIntervalMs is not { } interval)
        {
            metrics.Batch("features");
            log.LogWarning("Refused batch {BatchId}: its {Count} features are not those {Model} was trained on ({Expected}), or the model has no sampling interval",
                batch.BatchId, batch.Features.Count, model.Label, string.Join(",", model.Features));
            return;
        }
        var shape = new StreamShape(model.Steps, model.Stride, model.Features.Length, interval, (long)options.Stream.AllowedLateness.TotalMilliseconds,
            model.FillSlots);
        var now = time.GetUtcNow();
        var readings = Valid(batch, model, now);

        await using var transaction = await store.BeginAsync(batch.BatchId, batch.Readings.Count, ct);
        if (transaction is null)
        {
            metrics.Batch("duplicate");
            return;
        }
        var machines = await transaction.LoadAsync(readings.Keys, ct);
        var closed = new List<(string Machine, ClosedWindow Window)>();
        var (placed, late, duplicate) = (0L, 0L, 0L);
        foreach (var (machine, list) in readings)
        {
            var state = machines.TryGetValue(machine, out var known) ? known : machines[machine] = new MachineWindows();
            foreach (var r in list.OrderBy(r => r.Time))
                switch (state.Add(r.Time.ToUnixTimeMilliseconds(), [.. r.Values.Select(v => (float)v)], shape))
                {
                    case Placement.Placed: placed++; break;
                    case Placement.Late: late++; break;
                    default: duplicate++; break;
                }
            closed.AddRange(state.Close(shape).Select(w => (machine, w)));
        }

        var complete = closed.Where(c => c.Window.Readings is not null).ToList();
        var flat = new float[complete.Count * model.Width];
        for (var i = 0; i < complete.Count; i++) complete[i].Window.Readings!.CopyTo(flat, i * model.Width);
        var clock = Stopwatch.StartNew();
        var scores = complete.Count > 0 ? await model.ScoreAsync(flat, complete.Count) : [];
        metrics.Scoring(clock.Elapsed);
        // A scored batch counts as one inference of the version that scored it, as a request would: canary analysis
        // judges streams by the same numbers; and its windows feed the drift agent's samples like /score's do.
        if (complete.Count > 0) serving.Request(StreamRoute, model, StatusCodes.Status200OK, clock.Elapsed);
        // Windows drawn at random until the rate says no: a batch's few samples come from all its machines and times, not
        // its first (no per-batch allocation: the rate usually stops it after a handful).
        for (var n = 0; n < complete.Count; n++)
        {
            var i = Random.Shared.Next(complete.Count);
            if (!samples.AddWindow(model, flat.AsSpan(i * model.Width, model.Width), scores[i])) break;
        }

        var facts = new List<IReplicaFact>();
        for (var i = 0; i < complete.Count; i++)
        {
            var (machine, window) = complete[i];
            var state = machines[machine];
            var scored = new ScoredWindow(machine, model.Version, shape.TimeOf(window.StartSlot), shape.TimeOf(window.StartSlot + shape.Steps - 1),
                scores[i], model.Threshold);
            (state.Episode, var fact) = Episodes.Decide(_endpoint, state.Episode, scored, options.Stream.ClearAfter, options.Stream.RaiseAfter);
            state.Scored++;
            if (fact is not null) facts.Add(fact);
            metrics.Delay(now - scored.End);
        }
        await transaction.CommitAsync(machines, facts, ct);

        metrics.Batch("scored");
        metrics.Readings("placed", placed);
        metrics.Readings("late", late);
        metrics.Readings("duplicate", duplicate);
        metrics.Windows("scored", complete.Count);
        metrics.Windows("incomplete", closed.Count - complete.Count);
        if (machines.Count > 0) metrics.Lag(now - DateTimeOffset.FromUnixTimeMilliseconds(machines.Values.Max(m => m.MaxTime)));
        if (facts.Count > 0) sender.Wake();
    }

    /// <summary>Why a whole batch is refused (a metric label), or null.</summary>
    private string? Refusal(SensorReadings batch) =>
        batch.Endpoint != _endpoint ? "other_endpoint"
        : batch.Features is null || batch.Readings is null || batch.BatchId == Guid.Empty ? "malformed"
        : batch.Readings.Count > SensorReadings.MaxReadings ? "too_large"
        : null;

    /// <summary>The batch's well-formed readings by machine; the others are counted by why they were dropped.</summary>
    private Dictionary<string, List<SensorReading>> Valid(SensorReadings batch, AnomalyModel model, DateTimeOffset now)
    {
        var valid = new Dictionary<string, List<SensorReading>>(StringComparer.Ordinal);
        var values = new float[model.Features.Length];
        foreach (var r in batch.Readings)
        {
            var dropped = r is null || !SensorReadings.IsMachine(r.Machine) ? "bad_machine"
                : r.Values is null || r.Values.Length != values.Length ? "bad_shape"
                : r.Time > now + options.Stream.MaxFuture ? "future"
                : !Fits(r.Values, values, model) ? "bad_value"
                : null;
            if (dropped is not null)
            {
                metrics.Readings(dropped);
                continue;
            }
            if (!valid.TryGetValue(r!.Machine, out var list)) valid[r.Machine] = list = [];
            list.Add(r);
        }
        return valid;
    }

    /// <summary>Finite, within float32 and not absurdly far from the training data (<see cref="AnomalyModel.Outlier"/>).</summary>
    private static bool Fits(double[] readings, float[] buffer, AnomalyModel model)
    {
        for (var i = 0; i < readings.Length; i++)
        {
            buffer[i] = (float)readings[i];
            if (!float.IsFinite(buffer[i])) return false;
        }
        return model.Outlier(buffer) is null;
    }
}
