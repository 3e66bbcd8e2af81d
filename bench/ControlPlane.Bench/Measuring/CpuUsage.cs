using System.Globalization;

namespace EventMlOps.ControlPlane.Bench.Measuring;

/// <summary>How the machine's CPU was spent during a measurement, in percent of all cores: this process
/// (client and control plane), the benchmark's PostgreSQL, and everything else (Linux /proc only).</summary>
public sealed record CpuShare(double Busy, double Bench, double Postgres)
{
    public static readonly CpuShare Unknown = new(double.NaN, double.NaN, double.NaN);

    public double Other => Math.Max(0, Busy - Bench - Postgres);

    public override string ToString() => double.IsNaN(Busy) ? "-" : $"{Bench:N0}/{Postgres:N0}/{Other:N0}";
}

/// <summary>Samples /proc twice a second while a measurement runs. PostgreSQL backends come and go with the
/// connection pool, so they are followed pid by pid; a backend that ends loses at most its last half second.</summary>
public sealed class CpuMonitor
{
    /// <summary>The postmaster of the benchmark's cluster; its children are "PostgreSQL". Null: every process named postgres.</summary>
    public static int? Postmaster { get; set; }

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _total, _idle, _self, _postgres;

    private CpuMonitor()
    {
        var first = Sample.Take();
        _loop = first is null ? Task.CompletedTask : Task.Run(() => LoopAsync(first));
    }

    public static CpuMonitor Start() => new();

    public async Task<CpuShare> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        return _total <= 0 ? CpuShare.Unknown : new(100.0 * (_total - _idle) / _total, 100.0 * _self / _total, 100.0 * _postgres / _total);
    }

    private async Task LoopAsync(Sample previous)
    {
        while (!_stop.IsCancellationRequested)
        {
            try { await Task.Delay(500, _stop.Token); }
            catch (OperationCanceledException) { }
            if (Sample.Take() is not { } current) return;
            _total += current.Total - previous.Total;
            _idle += current.Idle - previous.Idle;
            _self += current.Self - previous.Self;
            _postgres += current.Postgres.Sum(p => p.Value - previous.Postgres.GetValueOrDefault(p.Key));
            previous = current;
        }
    }

    /// <summary>Clock ticks: the machine (all cores), this process, and each PostgreSQL process of the cluster.</summary>
    private sealed record Sample(long Total, long Idle, long Self, Dictionary<int, long> Postgres)
    {
        public static Sample? Take()
        {
            try
            {
                var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..9].Select(long.Parse).ToArray();
                var postgres = new Dictionary<int, long>();
                foreach (var dir in Directory.EnumerateDirectories("/proc"))
                    if (int.TryParse(Path.GetFileName(dir), out var pid) && Stat(dir) is ("postgres", var parent, var ticks)
                        && (Postmaster is not { } postmaster || pid == postmaster || parent == postmaster))
                        postgres[pid] = ticks;
                return new(cpu.Sum(), cpu[3] + cpu[4], Stat("/proc/self")?.Ticks ?? 0, postgres);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                return null; // not Linux, or /proc is not readable
            }
        }

        /// <summary>(comm, ppid, utime + stime) from /proc/PID/stat; the command name is in parentheses and may hold spaces.</summary>
        private static (string Name, int Parent, long Ticks)? Stat(string dir)
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                var rest = stat[(close + 2)..].Split(' ');
                return (stat[(open + 1)..close], int.Parse(rest[1], CultureInfo.InvariantCulture),
                    long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException or IndexOutOfRangeException)
            {
                return null; // the process ended meanwhile
            }
        }
    }
}
