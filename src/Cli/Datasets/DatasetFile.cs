using System.Security.Cryptography;
using EventMlOps.Contracts.Datasets;

namespace EventMlOps.Cli.Datasets;

/// <summary>What the CLI learns from a local dataset file before registering it: its content address
/// (sha256), its row count (lines), a format guessed from name and content, and the columns that format implies.</summary>
public sealed record DatasetFile(string Uri, string Sha256, long Rows, string Format, IReadOnlyList<DatasetColumn> Schema)
{
    public static readonly IReadOnlyList<string> Formats = ["movielens-udata", "movielens-ratings", "csv", "parquet", "other"];

    private static readonly IReadOnlyList<DatasetColumn> MovieLens =
        [new("user", "int"), new("item", "int"), new("rating", "float"), new("timestamp", "long")];

    public static async Task<DatasetFile> InspectAsync(string path, CancellationToken ct)
    {
        var full = Path.GetFullPath(path);
        string sha;
        await using (var stream = File.OpenRead(full))
            sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
        var (rows, firstLine) = await CountLinesAsync(full, ct);
        var format = GuessFormat(full, firstLine);
        return new DatasetFile(new Uri(full).AbsoluteUri, sha, rows, format, SchemaOf(format, firstLine));
    }

    public static IReadOnlyList<DatasetColumn> SchemaOf(string format, string? firstLine = null) => format switch
    {
        "movielens-udata" or "movielens-ratings" => MovieLens,
        "csv" when firstLine is not null => [.. firstLine.Split(',').Select(c => new DatasetColumn(c.Trim().Trim('"'), "string"))],
        _ => [],
    };

    private static string GuessFormat(string path, string? firstLine) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".parquet" => "parquet",
        ".csv" => "csv",
        _ when Path.GetFileName(path) == "ratings.dat" || firstLine?.Contains("::", StringComparison.Ordinal) == true => "movielens-ratings",
        _ when Path.GetFileName(path) == "u.data" || firstLine?.Split('\t').Length == 4 => "movielens-udata",
        _ => "other",
    };

    /// <summary>Lines, counting a last line without a trailing newline; streamed, so large files cost no memory.</summary>
    private static async Task<(long Rows, string? FirstLine)> CountLinesAsync(string path, CancellationToken ct)
    {
        using var reader = new StreamReader(path);
        var first = await reader.ReadLineAsync(ct);
        if (first is null) return (0, null);
        long rows = 1;
        while (await reader.ReadLineAsync(ct) is not null) rows++;
        return (rows, first);
    }
}
