using System.Collections.Concurrent;
using System.Diagnostics;

namespace EventMlOps.Cli.Demo;

/// <summary>Client traffic for the demo: <c>GET /recommend?user_id=…</c> at a steady rate (open loop: sends do not
/// wait for answers, so a slow version shows as latency, not as fewer requests), from a pool of users, counting every
/// answer by the version that served it (<c>X-Model-Version</c>) with its latency, and every failure with its reason.</summary>
public sealed class LoadGenerator : IAsyncDisposable
{
    private const int MaxInFlight = 256;

    private readonly HttpClient _http;
    private readonly int _users;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, ConcurrentBag<double>> _latencies = new();
    private readonly ConcurrentDictionary<string, int> _failures = new();
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight);

    public LoadGenerator(Uri replica, double perSecond, int users)
    {
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = MaxInFlight }) { BaseAddress = replica, Timeout = TimeSpan.FromSeconds(10) };
        _users = users;
        PerSecond = perSecond;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public double PerSecond { get; }

    /// <summary>Answers per version so far: count and latency percentiles (ms).</summary>
    public IReadOnlyList<VersionLoad> ByVersion() =>
        [.. _latencies.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => VersionLoad.Of(v.Key, [.. v.Value]))];

    public int Failed => _failures.Values.Sum();

    public IReadOnlyDictionary<string, int> Failures => _failures;

    private async Task RunAsync(CancellationToken ct)
    {
        var interval = TimeSpan.FromSeconds(1 / PerSecond);
        var clock = Stopwatch.StartNew();
        var random = new Random(7);
        for (long i = 0; !ct.IsCancellationRequested; i++)
        {
            var due = interval * i - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                try { await Task.Delay(due, ct); }
                catch (OperationCanceledException) { return; }
            }
            if (!await _inFlight.WaitAsync(0, CancellationToken.None))
            {
                _failures.AddOrUpdate("client overloaded (256 requests in flight)", 1, (_, n) => n + 1);
                continue;
            }
            _ = SendAsync(random.Next(1, _users + 1));
        }
    }

    private async Task SendAsync(int user)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.GetAsync($"recommend?user_id={user}&k=10");
            await response.Content.LoadIntoBufferAsync();
            var version = response.Headers.TryGetValues("X-Model-Version", out var v) ? v.First() : "?";
            if (response.IsSuccessStatusCode)
                _latencies.GetOrAdd(version, _ => []).Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            else
                _failures.AddOrUpdate($"HTTP {(int)response.StatusCode} from {version}", 1, (_, n) => n + 1);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            _failures.AddOrUpdate(e is TaskCanceledException ? "timed out after 10 s" : $"connection: {e.Message}", 1, (_, n) => n + 1);
        }
        finally
        {
            _inFlight.Release();
        }
    }

    /// <summary>Stops sending and waits for the answers still due; disposing twice is harmless.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync();
        await _loop;
        // Let the requests in flight finish, so that every one sent is counted.
        for (var i = 0; i < MaxInFlight; i++) await _inFlight.WaitAsync(TimeSpan.FromSeconds(15));
        _http.Dispose();
    }
}

/// <summary>One version's answers as the client saw them.</summary>
public sealed record VersionLoad(string Version, int Requests, double P50Ms, double P95Ms, double P99Ms)
{
    public static VersionLoad Of(string version, double[] latencies)
    {
        Array.Sort(latencies);
        double At(double q) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        return new VersionLoad(version, latencies.Length, At(0.50), At(0.95), At(0.99));
    }
}
