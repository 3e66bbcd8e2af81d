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

    /// <summary><c>model@version</c>, or <c>model@alias</c> / <c>model@latest</c> resolved against the registry now.</summary>
    public static async Task<ModelRef> ResolveAsync(ApiClient api, string text, CancellationToken ct)
    {
        if (TryParse(text) is { } exact) return exact;
        var at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1)
            throw CliError.Usage($"'{Shown(text)}' is not <model>@<version>, <model>@<alias> or <model>@latest (e.g. sensors@2, sensors@champion)");
        var (name, alias) = (text[..at], text[(at + 1)..]);
        var model = await api.GetAsync<EventMlOps.Contracts.Views.RegisteredModel>($"/api/models/{Uri.EscapeDataString(name)}", ct);
        return alias == "latest" ? new ModelRef(name, model.LatestVersion)
            : model.Aliases.TryGetValue(alias, out var version) ? new ModelRef(name, version)
            : throw CliError.Usage($"model '{Shown(name)}' has no alias '{Shown(alias)}'" +
                                   (model.Aliases.Count > 0 ? $" (its aliases: {string.Join(", ", model.Aliases.Keys.Order(StringComparer.Ordinal))})" : " (it has none)"));
    }

    private static string Shown(string text) => text.Length > 80 ? text[..80] + "…" : text;

    /// <summary>The version a command wrote, from its stream name <c>model:{name}@{version}</c>.</summary>
    public static ModelRef FromStream(string stream) =>
        TryParse(stream.StartsWith("model:", StringComparison.Ordinal) ? stream["model:".Length..] : stream)
        ?? throw new CliError($"the control plane answered stream '{stream}', not a model version");
}
