using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EventMlOps.Agents.Rollout;
using EventMlOps.Bench;
using EventMlOps.Cli.Bus;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Streams;
using EventMlOps.Hosting;
using EventMlOps.Local;
using EventMlOps.Serving.Bench;
using HdrHistogram;
using Wolverine;

namespace EventMlOps.Streams.Bench;

/// <summary>One end-to-end rate: readings sent and what the scorer's <c>/metrics</c> counted meanwhile; the event-time delay
/// (a window's last reading → its score) as the scorer's histogram has it; the sender's own lag (a batch's send completed → its
/// readings' event time), and the CPU of this process (the sender) and of the scorer and its PostgreSQL.</summary>
public sealed record EndToEndResult(int Rate, int Machines, long Sent, long Placed, long Late, long Duplicate, long Scored, long Incomplete,
    TimeSpan Sending, TimeSpan UntilPlaced, double DelayP50Ms, double DelayP95Ms, double ScoringP95Ms, double SendLagP95Ms, CpuShare Cpu)
{
    /// <summary>Readings placed per second, from the first reading's event time until the last was taken.</summary>
    public double Achieved => Placed / UntilPlaced.TotalSeconds;

    /// <summary>Readings per second per core the scorer and its PostgreSQL used.</summary>
    public double PerServerCore => Placed / (Cpu.Server / 100 * Environment.ProcessorCount * UntilPlaced.TotalSeconds);
}

/// <summary>The scorer as it runs: a private PostgreSQL cluster, <c>emo-serve --stream</c> in its own process (standalone, its
/// model from a desired-state file), and <see cref="SensorReadings"/> published on its PostgreSQL queue as <c>emo stream send</c>
/// does. Each rate streams its own machines, one reading each every <see cref="SensorModel.IntervalMs"/> ms stamped with the
/// time it is due (event time = send time), one batch per <c>batchMs</c> sent when its last slot is due (its earlier slots
/// wait for it, as with any batching sender); a sender that falls behind sends the overdue batches at once, so its lag
/// counts in the delay rather than hiding.</summary>
public sealed class EndToEnd : IAsyncDisposable
{
    private const string Endpoint = "bench-streams", Database = "emo_streams_bench";
    private readonly ServerProcess _server;
    private readonly IHost _publisher;
    private readonly HttpClient _http;
    private readonly int _postmaster;

    private EndToEnd(ServerProcess server, IHost publisher, int postmaster) =>
        (_server, _publisher, _postmaster, _http) = (server, publisher, postmaster, new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(10) });

    public static async Task<EndToEnd> StartAsync(string home, string serve, BenchModel model, CancellationToken ct)
    {
        var pg = await LocalPostgres.StartAsync(Path.Combine(home, "pg"), durable: false, ct);
        await pg.DropDatabaseAsync(Database, ct);
        await pg.EnsureDatabaseAsync(Database, ct);
        var connection = pg.ConnectionString(Database);
        var desired = Path.Combine(home, "desired.json");
        await File.WriteAllTextAsync(desired, JsonSerializer.Serialize(
            new ApplyEndpoint(Endpoint, 1, [new ServedVersion(model.Name, 1, new Uri(model.Path).AbsoluteUri, model.Sha256, 100)], 1, 1),
            new JsonSerializerOptions(JsonSerializerDefaults.Web)), ct);
        var server = await ServerProcess.StartAsync("emo-serve --stream", serve,
            ["--desired", desired, "--endpoint", Endpoint, "--stream", "--urls", "http://127.0.0.1:{port}", "--Serving:LogLevel=Warning",
             $"--Serving:Stream:Database={connection}", $"--Datasets:Roots={Path.GetDirectoryName(Path.GetDirectoryName(model.Path))}"], "v2/health/ready", Path.Combine(home, "emo-serve.log"), ct);
        var publisher = BusPublisher.Build(new BusTarget(new BusSettings(BusTransport.Postgresql, null), connection, "emo"), SensorReadings.QueueOf(Endpoint), _ => { });
        await publisher.StartAsync(ct);
        var postmaster = int.Parse(File.ReadLines(Path.Combine(pg.DataRoot, "data", "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        return new EndToEnd(server, publisher, postmaster);
    }

    /// <summary>Streams <paramref name="rate"/> readings/s for <paramref name="duration"/>, then waits until the scorer placed them all.</summary>
    public async Task<EndToEndResult> RunAsync(string label, int rate, TimeSpan duration, int batchMs, CancellationToken ct)
    {
        var slotsPerBatch = batchMs / SensorModel.IntervalMs;
        var machines = Enumerable.Range(1, rate * SensorModel.IntervalMs / 1000).Select(m => $"{label}-m{m}").ToArray();
        var before = await ScrapeAsync(ct);
        CpuMonitor.IsServer = p => p.Pid == _server.Pid || p.Pid == _postmaster || p.Parent == _postmaster;
        var monitor = CpuMonitor.Start();
        var slots = (long)(duration.TotalMilliseconds / batchMs) * slotsPerBatch;
        var first = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / SensorModel.IntervalMs + 1;
        var lag = new LongHistogram(1, 60_000_000, 3);
        var bus = _publisher.MessageBus();
        var random = new Random(rate);
        // A dedicated thread: Task.Delay's timer fires only every few ms here and would send bursts (see Load).
        await Task.Factory.StartNew(() =>
        {
            for (var slot = first; slot < first + slots && !ct.IsCancellationRequested; slot += slotsPerBatch)
            {
                var last = slot + slotsPerBatch - 1;
                while (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() < last * SensorModel.IntervalMs) Thread.Sleep(1);
                SensorReading[] readings = [.. Enumerable.Range(0, slotsPerBatch).SelectMany(s => SensorModel.Slot(machines, slot + s, random))];
                bus.SendAsync(new SensorReadings(Guid.NewGuid(), Endpoint, SensorModel.Features, readings)).AsTask().GetAwaiter().GetResult();
                var us = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - last * SensorModel.IntervalMs) * 1000;
                lag.RecordValue(Math.Clamp(us, 1, lag.HighestTrackableValue));
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var start = DateTimeOffset.FromUnixTimeMilliseconds(first * SensorModel.IntervalMs);
        var sending = DateTimeOffset.UtcNow - start;
        var sent = slots * machines.Length;
        // Every reading accounted for: placed, or counted late or duplicate (batches the queue delivered out of order).
        long Seen(Scrape s) => s.Placed + s.Late + s.Duplicate - before.Placed - before.Late - before.Duplicate;
        var after = await ScrapeAsync(ct);
        for (var waited = Stopwatch.StartNew(); Seen(after) < sent && waited.Elapsed < TimeSpan.FromSeconds(60); after = await ScrapeAsync(ct))
            await Task.Delay(50, ct);
        var untilPlaced = DateTimeOffset.UtcNow - start;
        var cpu = await monitor.StopAsync();
        // Histograms appear with their first observation: a scrape before it has no buckets.
        var delay = after.Delay.Select((c, i) => c - before.Delay.ElementAtOrDefault(i)).ToArray();
        var scoring = after.Scoring.Select((c, i) => c - before.Scoring.ElementAtOrDefault(i)).ToArray();
        return new(rate, machines.Length, sent, after.Placed - before.Placed, after.Late - before.Late, after.Duplicate - before.Duplicate,
            after.Scored - before.Scored, after.Incomplete - before.Incomplete, sending, untilPlaced,
            MetricsSnapshot.Quantile(after.DelayBounds, delay, 0.5) * 1000, MetricsSnapshot.Quantile(after.DelayBounds, delay, 0.95) * 1000,
            MetricsSnapshot.Quantile(after.ScoringBounds, scoring, 0.95) * 1000, lag.GetValueAtPercentile(95) / 1000.0, cpu);
    }

    private sealed record Scrape(long Placed, long Late, long Duplicate, long Scored, long Incomplete,
        double[] DelayBounds, double[] Delay, double[] ScoringBounds, double[] Scoring);

    private async Task<Scrape> ScrapeAsync(CancellationToken ct)
    {
        var samples = MetricsSnapshot.Samples(await _http.GetStringAsync("metrics", ct)).ToList();
        long Sum(string name, string outcome) => (long)samples.Where(s => s.Name == name && s.Labels.GetValueOrDefault("outcome") == outcome).Sum(s => s.Value);
        (double[] Bounds, double[] Cumulative) Buckets(string name)
        {
            var buckets = samples.Where(s => s.Name == name).Select(s => (Bound: s.Labels["le"] == "+Inf" ? double.PositiveInfinity
                : double.Parse(s.Labels["le"], CultureInfo.InvariantCulture), s.Value)).OrderBy(b => b.Bound).ToArray();
            return ([.. buckets.Select(b => b.Bound)], [.. buckets.Select(b => b.Value)]);
        }
        var delay = Buckets("emo_stream_event_delay_seconds_bucket");
        var scoring = Buckets("emo_stream_scoring_duration_seconds_bucket");
        return new(Sum("emo_stream_readings_total", "placed"), Sum("emo_stream_readings_total", "late"), Sum("emo_stream_readings_total", "duplicate"),
            Sum("emo_stream_windows_total", "scored"), Sum("emo_stream_windows_total", "incomplete"), delay.Bounds, delay.Cumulative, scoring.Bounds, scoring.Cumulative);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _publisher.StopAsync(CancellationToken.None);
        _publisher.Dispose();
        await _server.DisposeAsync();
    }
}
