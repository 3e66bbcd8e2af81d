using EventMlOps.Contracts.Datasets;

namespace EventMlOps.Contracts.Views;

/// <summary>A registered dataset (<c>GET /api/datasets</c>); <paramref name="Id"/> is its stream.</summary>
public sealed record DatasetView(
    string Id,
    Guid DatasetId,
    string Name,
    string Uri,
    string Sha256,
    string Format,
    long RowCount,
    IReadOnlyList<DatasetColumn> Schema,
    string RegisteredBy,
    DateTimeOffset RegisteredAt);
