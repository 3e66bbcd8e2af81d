using System.Globalization;
using EventMlOps.Contracts.Streams;
using EventMlOps.Serving.Bench;

namespace EventMlOps.Streams.Bench;

/// <summary>The benchmark's sensor autoencoder and its readings. Streaming in real time needs a short sampling interval (the
/// generator's one-minute readings would close a window every 30 minutes), so the model is trained by the real trainer on
/// readings <see cref="IntervalMs"/> apart: three sensors, each its mean plus noise (scoring speed does not depend on quality).</summary>
public static class SensorModel
{
    public const int IntervalMs = 10;
    public static readonly string[] Features = ["temperature", "vibration", "pressure"];
    private static readonly double[] Mean = [60, 2, 5], Std = [1.5, 0.2, 0.1];

    public static async Task<BenchModel> TrainAsync(string home, TextWriter output, CancellationToken ct)
    {
        var csv = Path.Combine(home, "sensors-10ms.csv");
        if (!File.Exists(csv))
        {
            var random = new Random(14);
            var lines = new List<string> { "timestamp,machine," + string.Join(',', Features) };
            for (var m = 1; m <= 2; m++)
                for (var i = 0; i < 10_000; i++)
                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"{(long)i * IntervalMs},machine-{m},") +
                              string.Join(',', Values(random).Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            await File.WriteAllLinesAsync(csv, lines, ct);
        }
        return await BenchModels.TrainAsync(home, "anomaly", ["--data", csv, "--epochs", "1"], output, ct);
    }

    /// <summary>One reading's values: each sensor's mean ± noise.</summary>
    public static double[] Values(Random random) => [.. Mean.Select((m, f) => m + Std[f] * (random.NextDouble() * 2 - 1))];

    /// <summary>One reading per machine at <paramref name="slot"/> (event time slot × interval).</summary>
    public static SensorReading[] Slot(string[] machines, long slot, Random random) =>
        [.. machines.Select(m => new SensorReading(m, DateTimeOffset.FromUnixTimeMilliseconds(slot * IntervalMs), Values(random)))];
}
