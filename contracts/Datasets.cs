namespace EventMlOps.Contracts.Datasets;

public sealed record DatasetColumn(string Name, string Type);

/// <summary>Registers an immutable, content-addressed dataset.</summary>
[SentBy(Roles.Scientist)]
public sealed record RegisterDataset(
    Guid CommandId,
    Guid DatasetId,
    string Name,
    string Uri,
    string Sha256,
    string Format,
    long RowCount,
    IReadOnlyList<DatasetColumn> Schema) : ICommand;
