using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using JasperFx.Events;
using Marten;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>The approval of a version that a drift alarm's run produced starts the policy's rollout on the alarm's endpoint
/// (Marten subscription, strict order), caused by the approval; the rollout id is the approval event's, so a replay names the
/// same rollout and the loop's record of it appends nothing more.</summary>
public static class RollOutRetrainedHandler
{
    public static async Task Handle(IEvent<ModelVersionApproved> e, IDocumentSession session, TimeProvider time)
    {
        var version = await session.LoadAsync<ModelVersion>(StreamKeys.ModelVersion(e.Data.ModelName, e.Data.Version));
        var run = version is null ? null : await session.LoadAsync<TrainingRun>(StreamKeys.Run(version.RunId));
        if (run?.Trigger is not { } trigger)
            return;
        var loop = await session.LoadAsync<RetrainingLoop>(StreamKeys.Retraining(trigger.AlarmId));
        var policy = await session.LoadAsync<ModelPolicy>(StreamKeys.ModelPolicy(version!.ModelName));
        var endpoint = await session.Events.FetchForWriting<EndpointState>(StreamKeys.Endpoint(trigger.Endpoint));
        var (onLoop, onEndpoint) = RetrainingDecisions.RollOut(loop, policy, version, endpoint.Aggregate, e.Data.ApprovedBy, e.Id, time.GetUtcNow());
        if (onLoop.Length == 0)
            return;
        session.LastModifiedBy = policy!.SetBy;
        session.CorrelationId = e.CorrelationId;
        session.CausationId = e.Id.ToString();
        session.Events.Append(loop!.Id, onLoop);
        endpoint.AppendMany(onEndpoint);
    }
}
