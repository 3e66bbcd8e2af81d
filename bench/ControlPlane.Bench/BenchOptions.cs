using System.Globalization;

namespace EventMlOps.ControlPlane.Bench;

/// <summary>Command-line options of the benchmark.</summary>
public sealed record BenchOptions(long Events, double Seconds, IReadOnlyList<int> Clients, bool Reset, bool KeepPostgres, bool Quick, bool RebuildOnly)
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/ControlPlane.Bench -- [options]

          --events N        seed the store up to at least N events (default 1,000,000; 50k with --quick)
                            (a store that already holds N events is reused as is)
          --seconds S       duration of each measurement in seconds (default 10; 3 with --quick)
          --clients LIST    concurrent clients for the command measurements (default 1,16)
          --quick           smoke run: 50,000 events, 3 s per measurement
          --rebuild-only    stop after the projection rebuild (no control plane, no commands or queries)
          --reset           drop the benchmark store first and seed from scratch
          --keep-postgres   leave the private PostgreSQL cluster running afterwards
          EMO_POSTGRES=...  use that PostgreSQL server (a connection string) instead of the private cluster
        """;

    public static BenchOptions Parse(string[] args)
    {
        long? events = null;
        double? seconds = null;
        IReadOnlyList<int> clients = [1, 16];
        bool quick = false, reset = false, keep = false, rebuildOnly = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--events": events = Count(Value()); break;
                case "--seconds": seconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--clients": clients = [.. Value().Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))]; break;
                case "--quick": quick = true; break;
                case "--reset": reset = true; break;
                case "--keep-postgres": keep = true; break;
                case "--rebuild-only": rebuildOnly = true; break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        if (events is < 1) throw new ArgumentException("--events must be ≥ 1");
        if (seconds is <= 0) throw new ArgumentException("--seconds must be > 0");
        if (clients.Count == 0 || clients.Any(c => c < 1)) throw new ArgumentException("--clients must list numbers ≥ 1");
        return new(events ?? (quick ? 50_000 : 1_000_000), seconds ?? (quick ? 3 : 10), clients, reset, keep, quick, rebuildOnly);
    }

    /// <summary>"1000000", "1_000_000", "1,000,000", "50k" or "1m".</summary>
    private static long Count(string text)
    {
        var t = text.Replace("_", "").Replace(",", "").Trim().ToLowerInvariant();
        var factor = t.EndsWith('k') ? 1_000 : t.EndsWith('m') ? 1_000_000 : 1;
        return long.Parse(factor == 1 ? t : t[..^1], CultureInfo.InvariantCulture) * factor;
    }
}
