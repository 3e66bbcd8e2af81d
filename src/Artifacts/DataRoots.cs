using EventMlOps.Contracts.Artifacts;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Artifacts;

/// <summary>
/// The only folders local data may be read from: the artifact store's root and the configured dataset roots, each
/// checked with <see cref="DataUris.RootProblem"/> at construction, with the size and time limits of a read.
/// </summary>
public sealed class DataRoots
{
    public const long DefaultMaxBytes = 16L << 30;
    public static readonly TimeSpan DefaultReadTimeout = TimeSpan.FromSeconds(900);

    /// <param name="artifactRoot">The local artifact store (made absolute): always a root, model artifacts live there.</param>
    /// <param name="datasetRoots">Absolute folders holding registered datasets.</param>
    /// <param name="protectedPaths">Folders no root may contain or lie in (keys, database, job folders).</param>
    /// <exception cref="InvalidOperationException">A root is unacceptable; the message names its setting.</exception>
    public DataRoots(string artifactRoot, IEnumerable<string>? datasetRoots = null, IEnumerable<string>? protectedPaths = null,
        long maxBytes = DefaultMaxBytes, TimeSpan? readTimeout = null)
    {
        Protected = [.. (protectedPaths ?? []).Select(p => Normal(Path.GetFullPath(p)))];
        ArtifactRoot = Checked("Artifacts:Root", Path.GetFullPath(artifactRoot));
        Roots = [ArtifactRoot, .. (datasetRoots ?? []).Select(r => Checked("Datasets:Roots", r))];
        MaxBytes = maxBytes > 0 ? maxBytes : throw new InvalidOperationException("Datasets:MaxBytes must be positive");
        ReadTimeout = readTimeout ?? DefaultReadTimeout;
        if (ReadTimeout <= TimeSpan.Zero) throw new InvalidOperationException("Datasets:ReadTimeoutSeconds must be positive");
    }

    public string ArtifactRoot { get; }

    /// <summary>Every root, <see cref="ArtifactRoot"/> first: what <see cref="DataUris.Problem"/> takes.</summary>
    public IReadOnlyList<string> Roots { get; }

    public IReadOnlyList<string> Protected { get; }

    public long MaxBytes { get; }

    public TimeSpan ReadTimeout { get; }

    /// <summary><c>Artifacts:Root</c> (default <c>$EMO_HOME/artifacts</c>), <c>Datasets:Roots</c> (an array and/or a
    /// <c>;</c>-separated list), <c>Datasets:MaxBytes</c> and <c>Datasets:ReadTimeoutSeconds</c>. <c>$EMO_HOME/keys</c>,
    /// <c>$EMO_HOME/pg</c> and <c>$EMO_HOME/agents</c> (job folders) are always protected, beside
    /// <paramref name="protectedPaths"/>.</summary>
    public static DataRoots FromConfiguration(IConfiguration configuration, string emoHome, IEnumerable<string>? protectedPaths = null)
    {
        var datasets = configuration.GetSection("Datasets:Roots");
        var roots = datasets.GetChildren().Select(c => c.Value).Append(datasets.Value)
            .SelectMany(v => (v ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        string[] home = [Path.Combine(emoHome, "keys"), Path.Combine(emoHome, "pg"), Path.Combine(emoHome, "agents")];
        return new DataRoots(configuration["Artifacts:Root"] ?? Path.Combine(emoHome, "artifacts"), roots, [.. home, .. protectedPaths ?? []],
            Setting(configuration, "Datasets:MaxBytes", DefaultMaxBytes),
            TimeSpan.FromSeconds(Setting(configuration, "Datasets:ReadTimeoutSeconds", (long)DefaultReadTimeout.TotalSeconds)));
    }

    private static long Setting(IConfiguration configuration, string key, long fallback) => configuration[key] switch
    {
        null or "" => fallback,
        var text when long.TryParse(text, out var value) => value,
        _ => throw new InvalidOperationException($"{key} must be a whole number"),
    };

    private string Checked(string setting, string root) =>
        DataUris.RootProblem(Normal(root), Protected) is { } problem
            ? throw new InvalidOperationException($"{setting}: {problem}; a data root must be a dedicated, absolute folder")
            : Normal(root);

    private static string Normal(string path) => path.Length > 1 ? path.TrimEnd('/') : path;
}
