using System.Globalization;

namespace EventMlOps.Streams.Bench;

/// <summary>Command-line options of the stream benchmark.</summary>
public sealed record BenchOptions(double Seconds, IReadOnlyList<int> Rates, int BatchMs, int InProcessReadings)
{
    /// <summary>The paper's rate per replica (readings/s): the end-to-end rates are 1×, 10× and 100× it by default.</summary>
    public const int PaperRate = 200;

    public const string Usage = """
        Usage: dotnet bench/Streams.Bench/bin/Release/net10.0/EventMlOps.Streams.Bench.dll [options]

          --seconds S     how long each end-to-end rate is sent (default 10)
          --rates LIST    end-to-end rates in readings/s (default 200,2000,20000: 1×, 10×, 100× the paper's 200 per replica);
                          each a multiple of 100 (one reading per machine every 10 ms)
          --batch-ms M    one SensorReadings message per M ms of readings (default 10: every slot its own message), a multiple of 10
          --readings N    readings per in-process measurement (default 300000)
        """;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions(10, [PaperRate, 10 * PaperRate, 100 * PaperRate], 10, 300_000);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--seconds" => options with { Seconds = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--rates" => options with { Rates = [.. Value().Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture))] },
                "--batch-ms" => options with { BatchMs = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--readings" => options with { InProcessReadings = int.Parse(Value(), CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
        }
        if (options.Seconds is <= 0 or > 600) throw new ArgumentException("--seconds must be within (0, 600]");
        if (options.Rates.Count == 0 || options.Rates.Any(r => r < 100 || r > 100_000 || r % 100 != 0))
            throw new ArgumentException("--rates must list multiples of 100 within 100..100000");
        if (options.BatchMs is < 10 or > 1000 || options.BatchMs % 10 != 0) throw new ArgumentException("--batch-ms must be a multiple of 10 within 10..1000");
        if (options.Rates.Max() * options.BatchMs / 1000 > Contracts.Streams.SensorReadings.MaxReadings)
            throw new ArgumentException($"--rates × --batch-ms: a batch may hold at most {Contracts.Streams.SensorReadings.MaxReadings:N0} readings");
        if (options.InProcessReadings is < 10_000 or > 10_000_000) throw new ArgumentException("--readings must be within 10000..10000000");
        return options;
    }
}
