using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EventMlOps.Serving.Bench;

/// <summary>A server under test in a child process of its own, on a free loopback port; its output goes to a log file.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServerProcess(Process process, StreamWriter log, Uri address) => (_process, _log, Address) = (process, log, address);

    public Uri Address { get; }
    public int Pid => _process.Id;

    /// <summary>Starts <c>dotnet {dll} {args}</c> (<c>{port}</c> in an argument is replaced by the chosen port) and
    /// waits until <paramref name="readyPath"/> answers 200.</summary>
    public static async Task<ServerProcess> StartAsync(string name, string dll, IEnumerable<string> args, string readyPath, string logFile, CancellationToken ct)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, log, new Uri($"http://127.0.0.1:{port}/"));
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"{name} exited with {process.ExitCode} before it was ready (log: {logFile})");
            }
            try
            {
                if ((await http.GetAsync(readyPath, ct)).IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (deadline.Elapsed > TimeSpan.FromSeconds(90))
            {
                await server.DisposeAsync();
                throw new TimeoutException($"{name} was not ready within 90 s (log: {logFile})");
            }
            await Task.Delay(200, ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_log) _log.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
