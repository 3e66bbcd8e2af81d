namespace EventMlOps.Contracts.Drift;

/// <summary>A drift measurement of an endpoint's inputs against the model's training baseline.</summary>
public sealed record DriftMeasured(
    Guid CommandId,
    string Endpoint,
    string ModelName,
    int Version,
    IReadOnlyDictionary<string, double> FeatureScores,
    DateTimeOffset WindowEnd) : IEndpointFact;

public sealed record DriftDetected(
    Guid CommandId,
    string Endpoint,
    string ModelName,
    int Version,
    string Feature,
    double Score,
    double Threshold,
    DateTimeOffset WindowEnd) : IEndpointFact;
