using System.Globalization;

namespace EventMlOps.Bench;

/// <summary>How the machine's CPU was spent during a measurement, in percent of all cores: this process
/// (the load generator, and whatever it hosts), the server processes under test, and everything else (Linux /proc only).</summary>
public sealed record CpuShare(double Busy, double Bench, double Server)
{
    public static readonly CpuShare Unknown = new(double.NaN, double.NaN, double.NaN);

    public double Other => Math.Max(0, Busy - Bench - Server);

    public override string ToString() => double.IsNaN(Busy) ? "-" : $"{Bench:N0}/{Server:N0}/{Other:N0}";
}

/// <summary>A process as /proc/PID/stat names it.</summary>
public readonly record struct ProcessInfo(int Pid, string Name, int Parent);

/// <summary>Samples /proc twice a second while a measurement runs. Server processes (e.g. PostgreSQL backends) come
/// and go, so they are followed pid by pid; one that ends loses at most its last half second.</summary>
public sealed class CpuMonitor
{
    /// <summary>Which processes count as the server under test (e.g. the benchmark cluster's postmaster and its children).</summary>
    public static Func<ProcessInfo, bool> IsServer { get; set; } = _ => false;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _total, _idle, _self, _server;

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
        return _total <= 0 ? CpuShare.Unknown : new(100.0 * (_total - _idle) / _total, 100.0 * _self / _total, 100.0 * _server / _total);
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
            _server += current.Server.Sum(p => p.Value - previous.Server.GetValueOrDefault(p.Key));
            previous = current;
        }
    }

    /// <summary>Clock ticks: the machine (all cores), this process, and each server process.</summary>
    private sealed record Sample(long Total, long Idle, long Self, Dictionary<int, long> Server)
    {
        public static Sample? Take()
        {
            try
            {
                var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..9].Select(long.Parse).ToArray();
                var server = new Dictionary<int, long>();
                foreach (var dir in Directory.EnumerateDirectories("/proc"))
                    if (int.TryParse(Path.GetFileName(dir), out var pid) && Stat(dir) is var (name, parent, ticks) && IsServer(new(pid, name, parent)))
                        server[pid] = ticks;
                return new(cpu.Sum(), cpu[3] + cpu[4], Stat("/proc/self")?.Ticks ?? 0, server);
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
