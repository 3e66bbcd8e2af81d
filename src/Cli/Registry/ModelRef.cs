using System.Globalization;

namespace EventMlOps.Cli.Registry;

/// <summary><c>model@version</c>, the way versions are written on the command line and in stream names.</summary>
public sealed record ModelRef(string Model, int Version)
{
    public override string ToString() => $"{Model}@{Version}";

    public static ModelRef Parse(string text) => TryParse(text) ?? throw CliError.Usage($"'{text}' is not <model>@<version> (e.g. recommender@2)");

    public static ModelRef? TryParse(string text)
    {
        var at = text.LastIndexOf('@');
        return at > 0 && int.TryParse(text[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? new ModelRef(text[..at], v)
            : null;
    }

    /// <summary>The version a command wrote, from its stream name <c>model:{name}@{version}</c>.</summary>
    public static ModelRef FromStream(string stream) =>
        TryParse(stream.StartsWith("model:", StringComparison.Ordinal) ? stream["model:".Length..] : stream)
        ?? throw new CliError($"the control plane answered stream '{stream}', not a model version");
}
