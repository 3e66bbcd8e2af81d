using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.Datasets;

public sealed record DatasetRegistered(
    Guid DatasetId,
    string Name,
    string Uri,
    string Sha256,
    string Format,
    long RowCount,
    IReadOnlyList<DatasetColumn> Schema,
    string RegisteredBy,
    DateTimeOffset RegisteredAt);

/// <summary>An immutable, content-addressed dataset (stream <c>dataset:{id}</c>).</summary>
public sealed record Dataset(
    string Id,
    Guid DatasetId,
    string Name,
    string Uri,
    string Sha256,
    string Format,
    long RowCount,
    IReadOnlyList<DatasetColumn> Schema,
    string RegisteredBy,
    DateTimeOffset RegisteredAt)
{
    public static Dataset Create(DatasetRegistered e) =>
        new(StreamKeys.Dataset(e.DatasetId), e.DatasetId, e.Name, e.Uri, e.Sha256, e.Format, e.RowCount, e.Schema, e.RegisteredBy, e.RegisteredAt);

    /// <summary>What the API answers: clients read the contract's view, never the snapshot, so the snapshot may change.</summary>
    public DatasetView ToView() => new(Id, DatasetId, Name, Uri, Sha256, Format, RowCount, Schema, RegisteredBy, RegisteredAt);
}

public static class DatasetDecisions
{
    // "generated": the URI is a generator spec (generate://kind?seed=…), its sha256 the digest of that URI.
    private static readonly string[] Formats = ["movielens-udata", "movielens-ratings", "csv", "parquet", "generated", "other"];

    public static object[] Register(Dataset? current, RegisterDataset c, DataLocations locations, TrainerCatalog trainers, string actor, DateTimeOffset now)
    {
        Guard.Id("datasetId", c.DatasetId);
        Guard.Name("name", c.Name);
        if (locations.Problem(c.Uri) is { } problem) throw new InvalidField("uri", problem);
        if (GeneratorProblem(c.Uri, trainers) is { } generator) throw new InvalidField("uri", generator);
        Guard.Sha256("sha256", c.Sha256);
        if (!Formats.Contains(c.Format))
            throw new InvalidField("format", $"{Guard.Shown(c.Format)} is not one of {string.Join(", ", Formats)}");
        if (c.RowCount < 0)
            throw new InvalidField("rowCount", "must be ≥ 0");
        if (current is not null)
            throw new Refused($"dataset {c.DatasetId:N} is already registered (as '{current.Name}', sha256 {current.Sha256[..12]}…); datasets are immutable");
        return [new DatasetRegistered(c.DatasetId, c.Name, c.Uri, c.Sha256, c.Format, c.RowCount, c.Schema ?? [], actor, now)];
    }

    /// <summary>A <c>generate://&lt;kind&gt;?name=value&amp;…</c> dataset names a trainer that generates its data and only
    /// parameters its generator declares, each within bounds.</summary>
    private static string? GeneratorProblem(string uri, TrainerCatalog trainers)
    {
        if (!uri.StartsWith("generate://", StringComparison.OrdinalIgnoreCase)) return null;
        var rest = uri["generate://".Length..];
        var query = rest.IndexOf('?');
        var kind = (query < 0 ? rest : rest[..query]).TrimEnd('/');
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var pair in query < 0 ? [] : rest[(query + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0) return "generator parameters are name=number pairs";
            pairs.Add(new(Uri.UnescapeDataString(pair[..eq]), Uri.UnescapeDataString(pair[(eq + 1)..])));
        }
        return trainers.GeneratorProblem(kind, pairs);
    }
}
