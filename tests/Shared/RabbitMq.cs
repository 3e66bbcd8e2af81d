using System.Diagnostics;

namespace EventMlOps.Testing;

/// <summary>A real RabbitMQ node for the transport tests, started (once, idempotently) by deploy/local/rabbitmq.sh.
/// The node outlives the test run so that later runs reuse it; <c>deploy/local/rabbitmq.sh stop</c> ends it.</summary>
public static class RabbitMq
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _uri;

    public static async Task<string> StartAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_uri is not null) return _uri;
            var script = Path.Combine(TestHost.RepoRoot(), "deploy", "local", "rabbitmq.sh");
            var start = new ProcessStartInfo("bash", [script, "start"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"rabbitmq.sh start failed ({process.ExitCode}): {await stderr}");
            return _uri = (await stdout).Trim().Split('\n')[^1];
        }
        finally
        {
            Gate.Release();
        }
    }
}
