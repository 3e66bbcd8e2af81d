using EventMlOps.Contracts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Registry;
using Marten;

namespace EventMlOps.ControlPlane.Endpoints;

public static class CreateEndpointHandler
{
    public static async Task<CommandAccepted> Handle(CreateEndpoint command, Actor actor, IDocumentSession session, TimeProvider time)
    {
        var modelExists = await session.Query<ModelVersion>().AnyAsync(v => v.ModelName == command.ModelName);
        return await session.DecideAsync<EndpointState>(command, StreamKeys.Endpoint(command.Name),
            e => EndpointDecisions.Create(e, modelExists, command, actor.Name, time.GetUtcNow()));
    }
}

public static class DeleteEndpointHandler
{
    public static Task<CommandAccepted> Handle(DeleteEndpoint command, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideServingAsync(command, command.Name, actor, time, (e, now) => EndpointDecisions.Delete(e, command, actor.Name, now));
}

public static class RollOutHandler
{
    public static async Task<CommandAccepted> Handle(RollOut command, Actor actor, IDocumentSession session, TimeProvider time)
    {
        var endpoint = await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(command.Endpoint))
            ?? throw new NotFound("endpoint", command.Endpoint);
        var version = await session.LoadAsync<ModelVersion>(StreamKeys.ModelVersion(endpoint.ModelName, command.Version));
        // The rollout id derives from the command id, so a retried command names the same rollout.
        return await session.DecideAsync<EndpointState>(command, endpoint.Id,
            e => EndpointDecisions.RollOut(e, version, command, command.CommandId, actor.Name, time.GetUtcNow()), command.ExpectedVersion);
    }
}

public static class RolloutControlHandler
{
    public static Task<CommandAccepted> Handle(AdvanceRollout command, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideServingAsync(command, command.Endpoint, actor, time, (e, now) => EndpointDecisions.Advance(e, command, actor.Name, now));

    public static Task<CommandAccepted> Handle(PromoteRollout command, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideServingAsync(command, command.Endpoint, actor, time, (e, now) => EndpointDecisions.Promote(e, command, actor.Name, now));

    public static Task<CommandAccepted> Handle(AbortRollout command, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideServingAsync(command, command.Endpoint, actor, time, (e, now) => EndpointDecisions.Abort(e, command, actor.Name, now));

    public static async Task<CommandAccepted> Handle(Rollback command, Actor actor, IDocumentSession session, TimeProvider time)
    {
        var endpoint = await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(command.Endpoint));
        var previous = endpoint is not null && EndpointDecisions.PreviousVersion(endpoint) is { } v
            ? await session.LoadAsync<ModelVersion>(StreamKeys.ModelVersion(endpoint.ModelName, v))
            : null;
        return await session.DecideServingAsync(command, command.Endpoint, actor, time, (e, now) => EndpointDecisions.Rollback(e, previous, command, actor.Name, now));
    }
}

/// <summary>Facts the rollout, serving and drift agents report about an endpoint.</summary>
public static class EndpointFactsHandler
{
    public static Task<CommandAccepted> Handle(RolloutStepReport fact, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideServingAsync(fact, fact.Endpoint, actor, time, (e, now) => EndpointDecisions.Analyze(e, fact, actor.Name, now));

    public static Task<CommandAccepted> Handle(ReplicaChangeReport fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<EndpointState>(fact, StreamKeys.Endpoint(fact.Endpoint), e => EndpointDecisions.RecordReplica(e, fact, time.GetUtcNow()));

    public static Task<CommandAccepted> Handle(EndpointStatusReport fact, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideServingAsync(fact, fact.Endpoint, actor, time, (e, now) => EndpointDecisions.RecordObserved(e, fact, actor.Name, now));

    /// <summary>Judged by the policy of the fact's model (the decision finds a fact of another model stale).</summary>
    public static async Task<CommandAccepted> Handle(DriftMeasured fact, Actor actor, IDocumentSession session, TimeProvider time)
    {
        var policy = await session.LoadAsync<ModelPolicy>(StreamKeys.ModelPolicy(Guard.Name("modelName", fact.ModelName)));
        return await session.DecideAsync<EndpointState>(fact, StreamKeys.Endpoint(fact.Endpoint),
            e => JudgingWindows.Judge(e, policy?.Drift ?? DriftPolicy.Default, fact, actor.Name, time.GetUtcNow()));
    }
}

/// <summary>The decisions that can end a version's serving go through here: they end its open drift alarm as well
/// (<see cref="EndingAlarms"/>), in the same append.</summary>
internal static class ServingDecisions
{
    public static Task<CommandAccepted> DecideServingAsync(this IDocumentSession session, ICommand command, string endpoint, Actor actor, TimeProvider time,
        Func<EndpointState?, DateTimeOffset, object[]> decide)
    {
        var now = time.GetUtcNow();
        return session.DecideAsync<EndpointState>(command, StreamKeys.Endpoint(endpoint), e => EndingAlarms.After(e, decide(e, now), actor.Name, now));
    }
}
