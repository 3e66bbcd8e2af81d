using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using JasperFx.Events;
using Marten;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>A drift alarm retrains its model when the model's policy says so (Marten subscription, strict order): the run's
/// events and the loop's record are written together, caused by the alarm, so a replayed alarm finds its loop and appends nothing.</summary>
public static class RetrainOnDriftHandler
{
    public static async Task Handle(IEvent<DriftDetected> e, IDocumentSession session, TrainerCatalog catalog, TimeProvider time)
    {
        var alarm = e.Data;
        var policy = await session.LoadAsync<ModelPolicy>(StreamKeys.ModelPolicy(alarm.ModelName));
        if (policy?.Retraining is not { } retraining)
            return;
        var key = StreamKeys.Retraining(alarm.AlarmId);
        var loop = await session.LoadAsync<RetrainingLoop>(key);
        var drifting = await session.LoadAsync<ModelVersion>(StreamKeys.ModelVersion(alarm.ModelName, alarm.Version));
        var behind = drifting is null ? null : await session.LoadAsync<TrainingRun>(StreamKeys.Run(drifting.RunId));
        var dataset = await session.Query<Dataset>().Where(d => d.Name == retraining.Dataset).OrderByDescending(d => d.RegisteredAt).FirstOrDefaultAsync();
        var (onLoop, onRun) = RetrainingDecisions.Retrain(loop, policy, alarm, behind, dataset, catalog, time.GetUtcNow());
        if (onLoop.Length == 0)
            return;
        session.LastModifiedBy = policy.SetBy;
        session.CorrelationId = e.CorrelationId;
        session.CausationId = e.Id.ToString();
        session.Events.StartStream<RetrainingLoop>(key, onLoop);
        if (onRun.Length > 0)
            session.Events.StartStream<TrainingRun>(StreamKeys.Run(RetrainingDecisions.RunId(alarm.AlarmId)), onRun);
    }
}
