using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;

namespace EventMlOps.Artifacts.Tests.Testing;

/// <summary>A real S3-compatible server, s3rver (npm, installed in tests/node by <c>./emo test</c>), started as a
/// process by <c>tests/node/s3rver.mjs</c> on a free port of 127.0.0.1 with the bucket <see cref="Bucket"/>, and
/// stopped (its folder removed) at the end. Its one account is access key S3RVER, secret S3RVER.</summary>
public sealed class S3rver : IAsyncLifetime
{
    public const string Bucket = "emo-artifacts";
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private Process? _process;
    private readonly StringBuilder _stderr = new();

    public string Endpoint { get; private set; } = "";

    /// <summary>A client configured as the store configures its own (<see cref="S3ArtifactStore.Config"/>), with
    /// explicit credentials: nothing is read from, or written to, the process environment.</summary>
    public AmazonS3Client Client(string accessKey = AccessKey, string secretKey = SecretKey) =>
        new(new BasicAWSCredentials(accessKey, secretKey), S3ArtifactStore.Config(Endpoint));

    public async ValueTask InitializeAsync()
    {
        var node = Path.Combine(RepositoryRoot(), "tests", "node");
        if (!Directory.Exists(Path.Combine(node, "node_modules", "s3rver")))
            throw new InvalidOperationException($"s3rver is not installed: run `npm ci --prefix {node}` (./emo test does)");
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(node, "s3rver.mjs"));
        start.ArgumentList.Add(Bucket);
        _process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started");
        _process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null)
        {
            await _process.WaitForExitAsync(timeout.Token);
            lock (_stderr) throw new InvalidOperationException($"s3rver exited with code {_process.ExitCode}: {_stderr}");
        }
        Endpoint = JsonDocument.Parse(line).RootElement.GetProperty("endpoint").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        _process.StandardInput.Close(); // the launcher stops when its stdin closes
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await _process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        _process.Dispose();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tests", "node", "package.json"))) return dir.FullName;
        throw new InvalidOperationException($"no tests/node/package.json above {AppContext.BaseDirectory}");
    }
}
