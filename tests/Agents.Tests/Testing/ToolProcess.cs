using System.Diagnostics;

namespace EventMlOps.Agents.Tests.Testing;

/// <summary>A tool the tests drive as a real process (node, kubectl): given its input, its exit code and output; killed
/// with everything it started when it runs past the timeout.</summary>
public static class ToolProcess
{
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(Process process, string? input, TimeSpan timeout)
    {
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (input is not null)
            {
                await process.StandardInput.WriteAsync(input);
                process.StandardInput.Close();
            }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }
}
