using System.Globalization;

namespace EventMlOps.Serving.Bench;

/// <summary>Command-line options of the serving benchmark.</summary>
public sealed record BenchOptions(double Seconds, IReadOnlyList<double> Rates, int Clients, bool Quick, string? EmoServe = null, string? Device = null)
{
    /// <summary>p99 above this (or any error) ends the search for the highest sustained rate.</summary>
    public const double SustainedP99Ms = 50;

    public const string Usage = """
        Usage: dotnet bench/Serving.Bench/bin/Release/net10.0/EventMlOps.Serving.Bench.dll [options]

          --seconds S     duration of each measurement in seconds (default 10; 3 with --quick)
          --rates LIST    open-loop rates in requests/s reported for each route (default 100,1000)
          --clients N     concurrent clients of the closed-loop (maximum throughput) measurements (default 32)
          --quick         smoke run: a smaller recommender (600 users × 4,000 items), 3 s per measurement
          --emo-serve DLL the emo-serve to measure (default src/Serving/bin/Release/net10.0/emo-serve.dll; e.g. the GPU flavour)
          --device D      its Serving:Device (cpu, cuda, auto; default: its own)
        """;

    public static BenchOptions Parse(string[] args)
    {
        double? seconds = null;
        IReadOnlyList<double> rates = [100, 1000];
        var clients = 32;
        var quick = false;
        string? emoServe = null, device = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--rates": rates = [.. Value().Split(',').Select(r => double.Parse(r, CultureInfo.InvariantCulture))]; break;
                case "--clients": clients = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--quick": quick = true; break;
                case "--emo-serve": emoServe = Path.GetFullPath(Value()); break;
                case "--device": device = Value(); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        if (seconds is <= 0) throw new ArgumentException("--seconds must be > 0");
        if (rates.Count == 0 || rates.Any(r => r <= 0)) throw new ArgumentException("--rates must list rates > 0");
        if (clients < 1) throw new ArgumentException("--clients must be ≥ 1");
        return new(seconds ?? (quick ? 3 : 10), rates, clients, quick, emoServe, device);
    }
}
