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
            return _uri ??= await RunAsync("start");
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The URI of a virtual host of its own on the node: a test whose control plane must be the only consumer of the
    /// command queue, while other tests run theirs on the same node.</summary>
    public static async Task<string> VirtualHostAsync(string name)
    {
        await StartAsync();
        return await RunAsync("vhost", name);
    }

    private static async Task<string> RunAsync(params string[] args)
    {
        var script = Path.Combine(TestHost.RepoRoot(), "deploy", "local", "rabbitmq.sh");
        var start = new ProcessStartInfo("bash", [script, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"rabbitmq.sh {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}");
        return (await stdout).Trim().Split('\n')[^1];
    }
}
