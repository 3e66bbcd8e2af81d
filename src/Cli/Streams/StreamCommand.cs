using System.CommandLine;
using System.Diagnostics;
using EventMlOps.Cli.Bus;
using EventMlOps.Contracts.Streams;
using EventMlOps.Hosting;
using Wolverine;

namespace EventMlOps.Cli.Streams;

/// <summary><c>emo stream send --endpoint E --file readings.csv [--rate N] [--batch B]</c>: publishes a sensor CSV as
/// <see cref="SensorReadings"/> batches on the endpoint's queue (<see cref="SensorReadings.QueueOf"/>) at N readings/s.</summary>
public static class StreamCommand
{
    public static Command Create()
    {
        var endpoint = new Option<string>("--endpoint") { Description = "The anomaly endpoint whose scorer takes the readings", Required = true };
        var file = new Option<FileInfo>("--file") { Description = "Sensor CSV: timestamp, machine, one column per feature (label ignored)", Required = true };
        var rate = new Option<int>("--rate") { Description = "Readings per second (0: as fast as the bus takes them)", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { Description = $"Readings per message (1..{SensorReadings.MaxReadings})", DefaultValueFactory = _ => 100 };
        var connection = new Option<string?>("--connection") { Description = "PostgreSQL connection string (default: $EMO_POSTGRES, else the private cluster of $EMO_HOME)" };
        var send = new Command("send", "Publish a sensor CSV's readings on the endpoint's queue at a steady rate") { endpoint, file, rate, batch, connection };
        send.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var (size, perSecond) = (parse.GetValue(batch), parse.GetValue(rate));
            if (size is < 1 or > SensorReadings.MaxReadings) throw CliError.Usage($"--batch must be within 1..{SensorReadings.MaxReadings}");
            if (perSecond < 0) throw CliError.Usage("--rate must be ≥ 0");
            var path = parse.GetValue(file)!.FullName;
            if (!File.Exists(path)) throw CliError.Usage($"--file: {path} does not exist");
            var target = await PublishCommand.TargetAsync(ctx, parse.GetValue(connection), null, ct);
            var name = parse.GetValue(endpoint)!;
            var sent = await SendAsync(target, name, new ReadingsFile(path), size, () => perSecond,
                (n, elapsed) => ctx.Err.WriteLine($"{n:N0} readings sent in {elapsed.TotalSeconds:0.0} s ({n / Math.Max(elapsed.TotalSeconds, 1e-3):N0}/s)"), ct);
            ctx.Out.WriteLine($"sent {sent:N0} readings to {SensorReadings.QueueOf(name)} ({target.Settings.Transport})");
            return 0;
        });
        return new Command("stream", "Sensor streams") { send };
    }

    /// <summary>Publishes the file's readings in batches of <paramref name="batch"/>, each paced to the <paramref name="rate"/>
    /// of the moment in readings/s (0: unpaced), calling <paramref name="progress"/> about once a second; returns the
    /// readings sent.</summary>
    public static async Task<long> SendAsync(BusTarget target, string endpoint, ReadingsFile file, int batch, Func<int> rate, Action<long, TimeSpan> progress,
        CancellationToken ct)
    {
        var last = Guid.Empty;
        using var host = BusPublisher.Build(target, SensorReadings.QueueOf(endpoint), e => last = e.Id);
        await host.StartAsync(ct);
        var bus = host.MessageBus();
        var clock = Stopwatch.StartNew();
        var (sent, reported, due) = (0L, TimeSpan.Zero, TimeSpan.Zero);
        foreach (var chunk in file.Read().Chunk(batch))
        {
            await bus.SendAsync(new SensorReadings(Guid.NewGuid(), endpoint, file.Features, chunk));
            sent += chunk.Length;
            // When each batch is due at the rate of the moment: a rate that changes mid-stream paces what follows it.
            due = rate() is > 0 and var perSecond ? due + TimeSpan.FromSeconds((double)chunk.Length / perSecond) : clock.Elapsed;
            if (due - clock.Elapsed is { Ticks: > 0 } ahead) await Task.Delay(ahead, ct);
            if (clock.Elapsed - reported >= TimeSpan.FromSeconds(1)) progress(sent, reported = clock.Elapsed);
        }
        if (target.Settings.Transport == BusTransport.Postgresql && last != Guid.Empty) await BusPublisher.WaitUntilQueuedAsync(target, last, ct);
        await host.StopAsync(CancellationToken.None);
        progress(sent, clock.Elapsed);
        return sent;
    }
}
