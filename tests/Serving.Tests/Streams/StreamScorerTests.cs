using EventMlOps.Contracts.Views;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using EventMlOps.Cli.Bus;
using EventMlOps.Cli.Streams;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Streams;
using EventMlOps.ControlPlane.Alarms;
using EventMlOps.Hosting;
using EventMlOps.Models;
using EventMlOps.Serving.Streams;
using EventMlOps.Serving.Tests.Testing;
using Npgsql;

namespace EventMlOps.Serving.Tests.Streams;

/// <summary>The stream scorer end to end: the real control plane and PostgreSQL, <c>emo-serve --stream</c> as its own process
/// (the trained sensor autoencoder), readings published as <c>emo stream send</c> does on the PostgreSQL queue or a real
/// RabbitMQ node.</summary>
public sealed class StreamScorerTests(TrainedModels models, ControlPlaneFixture cp) : IClassFixture<ControlPlaneFixture>
{
    private const int Interval = 60_000;

    [Theory]
    [InlineData(BusTransport.Postgresql)]
    [InlineData(BusTransport.RabbitMq)]
    public async Task Given_readings_with_an_injected_anomaly_When_streamed_Then_every_reading_is_placed_once_and_one_episode_covers_the_anomaly(
        BusTransport transport)
    {
        var bus = transport == BusTransport.RabbitMq ? new BusSettings(transport, await RabbitMq.StartAsync()) : Postgres;
        var (endpoint, csv, total, anomalyStart) = await EndpointWithReadingsAsync(days: 0.25, inject: true);
        await using var scorer = await ScorerAsync(endpoint, bus: bus);

        var batches = await SendAsync(endpoint, csv, batch: 25, bus: bus);
        var machines = await CountersAsync(endpoint, total);

        machines.Values.Sum(m => m.Late).ShouldBe(0);
        (await BatchesAsync(endpoint)).ShouldBe(batches);
        var episodes = await EpisodesAsync(endpoint, e => e.Any(a => a.Machine == "machine-1" && !a.Open));
        var episode = episodes.Single(a => a.Machine == "machine-1" && a.WindowEnd >= anomalyStart && a.WindowStart <= anomalyStart.AddMinutes(20));
        (episode.ModelVersion, episode.RaisedBy).ShouldBe((1, "scorer"));
        episode.MaxScore!.Value.ShouldBeGreaterThan(episode.Threshold * 5);
    }

    [Fact]
    public async Task Given_a_scorer_killed_mid_stream_When_it_starts_again_Then_every_reading_is_placed_once_and_every_window_scored_once()
    {
        var (endpoint, csv, total, _) = await EndpointWithReadingsAsync(days: 1, inject: false);
        await using var first = await ScorerAsync(endpoint, Lateness);
        var sending = SendAsync(endpoint, csv, batch: 10, rate: 300);
        var clock = Stopwatch.StartNew();
        while ((await CountersAsync(endpoint)).Values.Sum(m => m.Readings) == 0 && clock.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(10);
        first.Kill();
        var atKill = (await CountersAsync(endpoint)).Values.Sum(m => m.Readings);
        atKill.ShouldBeLessThan(total, "the scorer was killed mid-stream");
        await using var second = await ScorerAsync(endpoint, Lateness);
        var batches = await sending;

        // What the killed scorer had taken but not committed is scored before anything newer: no reading falls behind
        // the watermark because of the crash, and the windows are exactly those of the readings in order.
        var machines = await CountersAsync(endpoint, total, countLate: true);
        (await BatchesAsync(endpoint)).ShouldBe(batches);
        machines.Values.Sum(m => m.Late).ShouldBe(0);
        machines.Values.Sum(m => m.Readings).ShouldBe(total);
        machines.OrderBy(m => m.Key).ShouldBe(Expected(csv, Lateness).OrderBy(m => m.Key));
    }

    /// <summary>Each machine's counters had its readings been placed in order by one scorer that never stopped: the windows
    /// of the trained model's shape (its ONNX metadata) cut by <see cref="MachineWindows"/>.</summary>
    private Dictionary<string, MachineCounters> Expected(string csv, TimeSpan lateness)
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(models.AnomalyPath);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        var shape = new StreamShape(int.Parse(metadata[ModelMetadata.Window], CultureInfo.InvariantCulture),
            int.Parse(metadata[ModelMetadata.Stride], CultureInfo.InvariantCulture), metadata[ModelMetadata.Features].Split(',').Length,
            long.Parse(metadata[ModelMetadata.SamplingInterval], CultureInfo.InvariantCulture), (long)lateness.TotalMilliseconds);
        var file = new ReadingsFile(csv);
        var machines = new Dictionary<string, MachineWindows>();
        foreach (var r in file.Read())
        {
            var state = machines.TryGetValue(r.Machine, out var known) ? known : machines[r.Machine] = new MachineWindows();
            state.Add(r.Time.ToUnixTimeMilliseconds(), new float[shape.Features], shape).ShouldBe(Placement.Placed);
            state.Scored += state.Close(shape).Count(w => w.Readings is not null);
        }
        return machines.ToDictionary(m => m.Key, m => new MachineCounters(m.Value.Readings, m.Value.Late, m.Value.Scored, m.Value.Incomplete));
    }

    private async Task<(string Endpoint, string Csv, long Total, DateTimeOffset AnomalyStart)> EndpointWithReadingsAsync(double days, bool inject)
    {
        var lifecycle = await EndpointLifecycle.StartAsync(cp);
        var (version, _) = await lifecycle.VersionAsync(models.AnomalyPath);
        await lifecycle.RollOutAsync(version);
        var csv = Path.Combine(cp.Scratch, $"{lifecycle.Endpoint}.csv");
        var (total, anomalyStart) = await SensorReadingsCsv.GenerateAsync(csv, days, inject);
        return (lifecycle.Endpoint, csv, total, anomalyStart);
    }

    private static readonly TimeSpan Lateness = TimeSpan.FromHours(3);

    private static readonly BusSettings Postgres = new(BusTransport.Postgresql, null);

    private async Task<ScorerProcess> ScorerAsync(string endpoint, TimeSpan? lateness = null, BusSettings? bus = null) => await ScorerProcess.StartAsync([
        TestHost.Built("Serving", "emo-serve.dll"),
        .. bus is { Transport: BusTransport.RabbitMq, Address: { } rabbit } ? [$"--Bus:RabbitMq={rabbit}"] : Array.Empty<string>(),
        "--urls=http://127.0.0.1:0",
        $"--control-plane={cp.BaseAddress}",
        $"--endpoint={endpoint}",
        "--stream",
        $"--allowed-lateness={lateness ?? TimeSpan.Zero}",
        "--Serving:LogLevel=Warning",
        $"--Artifacts:Root={cp.ArtifactsRoot}",
        $"--EMO_HOME={Path.Combine(cp.Scratch, "serving")}",
    ], new Dictionary<string, string>
    {
        ["Serving__Token"] = cp.ReplicaToken(endpoint, "scorer"),
        ["Serving__Stream__Database"] = cp.Postgres.ConnectionString(cp.Database),
    });

    private async Task<int> SendAsync(string endpoint, string csv, int batch, int rate = 0, BusSettings? bus = null)
    {
        var target = new BusTarget(bus ?? Postgres, cp.Postgres.ConnectionString(cp.Database), "emo");
        var sent = await StreamCommand.SendAsync(target, endpoint, new ReadingsFile(csv), batch, () => rate, (_, _) => { }, TestContext.Current.CancellationToken);
        return (int)Math.Ceiling(sent / (double)batch);
    }

    /// <summary>The scorer's machines as it committed them; with <paramref name="total"/>, once that many readings were placed.</summary>
    private async Task<Dictionary<string, MachineCounters>> CountersAsync(string endpoint, long? total = null, bool countLate = false)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await using var db = NpgsqlDataSource.Create(cp.Postgres.ConnectionString(cp.Database));
            var machines = new Dictionary<string, MachineCounters>();
            try
            {
                await using var command = db.CreateCommand($"select machine, state from {Schema(endpoint)}.stream_machines");
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    machines[reader.GetString(0)] = System.Text.Json.JsonSerializer.Deserialize<MachineCounters>(reader.GetString(1), TestHost.Json)!;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable || e.SqlState == PostgresErrorCodes.InvalidSchemaName)
            {
            }
            if (total is null || machines.Values.Sum(m => m.Readings + (countLate ? m.Late : 0)) >= total) return machines;
            if (clock.Elapsed > TimeSpan.FromSeconds(90))
                throw new TimeoutException($"{machines.Values.Sum(m => m.Readings)} of {total} readings placed after 90 s");
            await Task.Delay(100);
        }
    }

    private async Task<long> BatchesAsync(string endpoint)
    {
        await using var db = NpgsqlDataSource.Create(cp.Postgres.ConnectionString(cp.Database));
        await using var command = db.CreateCommand($"select count(*) from {Schema(endpoint)}.stream_batches");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<List<AnomalyEpisode>> EpisodesAsync(string endpoint, Func<List<AnomalyEpisode>, bool> until)
    {
        using var viewer = cp.Client(Roles.Viewer, "victor");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var episodes = (await viewer.GetFromJsonAsync<List<AnomalyEpisode>>($"/api/alarms?endpoint={endpoint}", TestHost.Json))!;
            if (until(episodes) || clock.Elapsed > TimeSpan.FromSeconds(30)) return episodes;
            await Task.Delay(200);
        }
    }

    private static string Schema(string endpoint) => new StreamOptions().SchemaFor(endpoint);

    private sealed record MachineCounters(long Readings, long Late, long Scored, long Incomplete);

    /// <summary><c>emo-serve</c> as its own process; <see cref="Kill"/> is SIGKILL (no shutdown, no last flush).</summary>
    private sealed class ScorerProcess(Process process) : IAsyncDisposable
    {
        public static Task<ScorerProcess> StartAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) start.ArgumentList.Add(a);
            foreach (var (key, value) in environment) start.Environment[key] = value;
            var process = Process.Start(start)!;
            var log = File.AppendText(Path.Combine(Path.GetTempPath(), $"emo-scorer-{process.Id}.log"));
            log.AutoFlush = true;
            process.OutputDataReceived += (_, e) => { lock (log) log.WriteLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (log) log.WriteLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return Task.FromResult(new ScorerProcess(process));
        }

        public void Kill() => process.Kill(entireProcessTree: true);

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }
}
