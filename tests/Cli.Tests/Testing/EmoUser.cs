using System.Text;
using System.Text.Json;

namespace EventMlOps.Cli.Tests.Testing;

public sealed record EmoResult(int ExitCode, string Out, string Err)
{
    public override string ToString() => $"exit {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{Out}{Environment.NewLine}stderr:{Environment.NewLine}{Err}";

    public EmoResult ShouldSucceed()
    {
        ExitCode.ShouldBe(0, ToString());
        return this;
    }

    public JsonElement Json() => JsonDocument.Parse(Out).RootElement;

    /// <summary>The id in the stream a command wrote (<c>dataset:{id}</c>, <c>run:{id}</c>), from its --json answer.</summary>
    public Guid StreamId() => Guid.Parse(Json().GetProperty("stream").GetString()!.Split(':')[1]);
}

/// <summary>Runs the real CLI entry point in this process, as one principal, against the fixture's control plane.</summary>
public sealed class EmoUser(ControlPlaneFixture controlPlane, string? token, string? home = null)
{
    public string? Token { get; } = token;

    public async Task<EmoResult> RunAsync(params string[] args) => await RunAsync(args, TestContext.Current.CancellationToken);

    public async Task<EmoResult> RunAsync(string[] args, CancellationToken ct, TextWriter? stdout = null)
    {
        var output = stdout ?? new StringWriter();
        var error = new StringWriter();
        string[] context = ["--url", controlPlane.Url, "--home", home ?? controlPlane.Home, .. Token is null ? Array.Empty<string>() : ["--token", Token]];
        var code = await EmoCli.RunAsync([.. args, .. context], output, error, ct);
        return new EmoResult(code, output.ToString()!, error.ToString());
    }
}

/// <summary>A writer a test may read while a running command still writes to it (events tail --follow).</summary>
public sealed class SharedWriter : TextWriter
{
    private readonly StringBuilder _text = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_text) _text.Append(value);
    }

    public override void Write(string? value)
    {
        lock (_text) _text.Append(value);
    }

    public override string ToString()
    {
        lock (_text) return _text.ToString();
    }
}
