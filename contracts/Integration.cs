namespace EventMlOps.Contracts.Integration.V1;

// Integration events: what other services may react to, published on the emo-events exchange (RabbitMQ, as MassTransit
// envelopes: urn:message:EventMlOps.Contracts.Integration.V1:<Name>) or topic (Kafka). Version 1 of these shapes: a
// change that is not purely additive comes as V2 types beside these, never as an edit.

/// <summary>Every integration event reports one event of the control plane's store: its id (delivery is at least once, so a
/// subscriber de-duplicates on it), its stream and version there (events of one stream arrive in that order), and when it
/// happened.</summary>
public interface IIntegrationEvent
{
    Guid EventId { get; }
    string Stream { get; }
    long StreamVersion { get; }
    DateTimeOffset OccurredAt { get; }
}

public sealed record ModelVersionRegistered(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    string ModelName, int Version, Guid RunId, string ArtifactUri, string ArtifactSha256, string RegisteredBy) : IIntegrationEvent;

public sealed record ModelVersionApproved(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    string ModelName, int Version, string ApprovedBy) : IIntegrationEvent;

/// <summary>The version moved from stage <paramref name="From"/> to <paramref name="To"/> (None, Staging, Production, Archived).</summary>
public sealed record ModelVersionStaged(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    string ModelName, int Version, string From, string To, string ChangedBy) : IIntegrationEvent;

public sealed record TrainingSucceeded(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    Guid RunId, string ArtifactUri, string ArtifactSha256, IReadOnlyDictionary<string, double> Metrics) : IIntegrationEvent;

public sealed record TrainingFailed(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    Guid RunId, string Reason) : IIntegrationEvent;

/// <summary>A rollout of <paramref name="Version"/> began (<paramref name="Kind"/>: Immediate or Canary).</summary>
public sealed record RolloutStarted(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    string Endpoint, Guid RolloutId, string ModelName, int Version, string Kind, string StartedBy) : IIntegrationEvent;

public sealed record RolloutPromoted(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    string Endpoint, Guid RolloutId, int Version, string PromotedBy) : IIntegrationEvent;

/// <summary>What served before takes the traffic back from <paramref name="Version"/>: a canary in breach, a rollout that
/// failed or was aborted (<paramref name="RolloutId"/> set), or an endpoint rolled back by hand (no rollout).</summary>
public sealed record RolloutRolledBack(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    string Endpoint, Guid? RolloutId, int Version, string Reason, string By) : IIntegrationEvent;

public sealed record DriftAlarmRaised(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    string Endpoint, string ModelName, int Version, Guid AlarmId, IReadOnlyList<string> Features, int Windows) : IIntegrationEvent;

public sealed record AnomalyAlarmRaised(Guid EventId, string Stream, long StreamVersion, DateTimeOffset OccurredAt,
    string Endpoint, string Machine, int Version, double Score, double Threshold) : IIntegrationEvent;
