using EventMlOps.ControlPlane.Alarms;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Wolverine;
using Wolverine.Marten.Subscriptions;
using V1 = EventMlOps.Contracts.Integration.V1;

namespace EventMlOps.ControlPlane.Integration;

/// <summary>Turns the store's events into integration events (contracts/Integration.cs): what other services may react to,
/// without the store's internals.</summary>
public static class IntegrationEvents
{
    public static readonly IReadOnlyList<Type> Sources =
    [
        typeof(ModelVersionRegistered), typeof(ModelVersionApproved), typeof(ModelVersionStageChanged), typeof(TrainingRunSucceeded),
        typeof(TrainingRunFailed), typeof(RolloutStarted), typeof(RolloutPromoted), typeof(CanaryRolledBack), typeof(RolloutFailed),
        typeof(RolloutAborted), typeof(EndpointRolledBack), typeof(DriftDetected), typeof(AnomalyAlarmRecorded),
    ];

    public static V1.IIntegrationEvent? From(IEvent e) => e.Data switch
    {
        ModelVersionRegistered r => new V1.ModelVersionRegistered(e.Id, e.StreamKey!, e.Version, e.Timestamp, r.ModelName, r.Version, r.RunId,
            r.Artifact.Uri, r.Artifact.Sha256, r.RegisteredBy),
        ModelVersionApproved a => new V1.ModelVersionApproved(e.Id, e.StreamKey!, e.Version, e.Timestamp, a.ModelName, a.Version, a.ApprovedBy),
        ModelVersionStageChanged s => new V1.ModelVersionStaged(e.Id, e.StreamKey!, e.Version, e.Timestamp, s.ModelName, s.Version, s.From.ToString(),
            s.To.ToString(), s.ChangedBy),
        TrainingRunSucceeded s => new V1.TrainingSucceeded(e.Id, e.StreamKey!, e.Version, e.Timestamp, s.RunId, s.ArtifactUri, s.ArtifactSha256, s.Metrics),
        TrainingRunFailed f => new V1.TrainingFailed(e.Id, e.StreamKey!, e.Version, e.Timestamp, f.RunId, f.Reason),
        RolloutStarted s => new V1.RolloutStarted(e.Id, e.StreamKey!, e.Version, e.Timestamp, s.Endpoint, s.RolloutId, s.ModelName, s.Version,
            s.Kind.ToString(), s.StartedBy),
        RolloutPromoted p => new V1.RolloutPromoted(e.Id, e.StreamKey!, e.Version, e.Timestamp, p.Endpoint, p.RolloutId, p.Version, p.PromotedBy),
        CanaryRolledBack c => new V1.RolloutRolledBack(e.Id, e.StreamKey!, e.Version, e.Timestamp, c.Endpoint, c.RolloutId, c.Version, c.Reason, c.RolledBackBy),
        RolloutFailed f => new V1.RolloutRolledBack(e.Id, e.StreamKey!, e.Version, e.Timestamp, f.Endpoint, f.RolloutId, f.Version, f.Reason, f.ReportedBy),
        RolloutAborted a => new V1.RolloutRolledBack(e.Id, e.StreamKey!, e.Version, e.Timestamp, a.Endpoint, a.RolloutId, a.Version, a.Reason, a.AbortedBy),
        EndpointRolledBack b => new V1.RolloutRolledBack(e.Id, e.StreamKey!, e.Version, e.Timestamp, b.Endpoint, null, b.FromVersion, b.Reason, b.RolledBackBy),
        DriftDetected d => new V1.DriftAlarmRaised(e.Id, e.StreamKey!, e.Version, e.Timestamp, d.Endpoint, d.ModelName, d.Version, d.AlarmId,
            [.. d.Features.Select(f => f.Feature)], d.Windows),
        AnomalyAlarmRecorded a => new V1.AnomalyAlarmRaised(e.Id, e.StreamKey!, e.Version, e.Timestamp, a.Endpoint, a.Machine, a.Version, a.Score, a.Threshold),
        _ => null,
    };
}

/// <summary>Publishes integration events from a Marten subscription of their own, in the store's order (so in order per
/// stream), through Wolverine's outbox in the transaction that records the subscription's progress: a crash re-publishes
/// at most the last batch, which subscribers de-duplicate by event id.</summary>
public sealed class IntegrationEventsSubscription : BatchSubscription
{
    public IntegrationEventsSubscription() : base("integration-events")
    {
        foreach (var type in IntegrationEvents.Sources) IncludeType(type);
    }

    public override async Task ProcessEventsAsync(EventRange page, ISubscriptionController controller, IDocumentOperations operations, IMessageBus bus,
        CancellationToken cancellationToken)
    {
        foreach (var e in page.Events)
            if (IntegrationEvents.From(e) is { } integration)
                await bus.PublishAsync(integration);
    }
}
