using EventMlOps.Contracts;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Registry;

public static class RegisterModelVersionHandler
{
    public static async Task<CommandAccepted> Handle(RegisterModelVersion command, Actor actor, IDocumentSession session, TimeProvider time)
    {
        var (stream, _) = await RegisterAsync(session, command, actor.Name, time.GetUtcNow());
        return session.Answered(new CommandAccepted(command.CommandId, stream, 1, 1));
    }

    /// <summary>Starts the next version's stream; a concurrent registration of the same number
    /// collides on the new stream id and is answered as a conflict.</summary>
    public static async Task<(string Stream, int Version)> RegisterAsync(IDocumentSession session, RegisterModelVersion command, string actor, DateTimeOffset now)
    {
        Guard.Name("modelName", command.ModelName);
        var run = await session.Events.FetchForWriting<TrainingRun>(StreamKeys.Run(command.RunId));
        var previous = await session.Query<ModelVersion>().Where(v => v.ModelName == command.ModelName)
            .OrderByDescending(v => v.Version).FirstOrDefaultAsync();
        var latest = previous?.Version ?? 0;
        var tracked = await session.StateAsync<RunTracking>(StreamKeys.Run(command.RunId), null);
        var events = RegistryDecisions.Register(run.Aggregate, previous, latest + 1, command, actor, now, tracked);
        var stream = StreamKeys.ModelVersion(command.ModelName, latest + 1);
        session.Events.StartStream<ModelVersion>(stream, events[0]);
        run.AppendOne(events[1]);
        return (stream, latest + 1);
    }
}

public static class ApproveModelVersionHandler
{
    public static Task<CommandAccepted> Handle(ApproveModelVersion command, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<ModelVersion>(command, StreamKeys.ModelVersion(command.ModelName, command.Version),
            v => RegistryDecisions.Approve(v, command, actor.Name, time.GetUtcNow()));
}

public static class TransitionModelStageHandler
{
    public static Task<CommandAccepted> Handle(TransitionModelStage command, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<ModelVersion>(command, StreamKeys.ModelVersion(command.ModelName, command.Version),
            v => RegistryDecisions.TransitionStage(v, command, actor.Name, time.GetUtcNow()));
}

public static class RemoveModelAliasHandler
{
    public static async Task<CommandAccepted> Handle(RemoveModelAlias command, Actor actor, IDocumentSession session, TimeProvider time)
    {
        var holderId = await session.Query<ModelVersion>()
                           .Where(v => v.ModelName == command.ModelName && v.Aliases.Contains(command.Alias)).Select(v => v.Id).FirstOrDefaultAsync()
                       ?? throw new NotFound("alias", $"{command.ModelName}@{command.Alias}");
        // The holder's stream is read for writing: an alias moved meanwhile is a conflict, not a removal from the wrong version.
        return await session.DecideAsync<ModelVersion>(command, holderId, v => v is not null && v.Aliases.Contains(command.Alias)
            ? [new ModelVersionAliasRemoved(v.ModelName, v.Version, command.Alias, actor.Name, time.GetUtcNow())]
            : throw new NotFound("alias", $"{command.ModelName}@{command.Alias}"));
    }
}

public static class SetModelAliasHandler
{
    public static async Task<CommandAccepted> Handle(SetModelAlias command, Actor actor, IDocumentSession session, TimeProvider time)
    {
        var key = StreamKeys.ModelVersion(command.ModelName, command.Version);
        var target = await session.Events.FetchForWriting<ModelVersion>(key);
        var holderId = await session.Query<ModelVersion>()
            .Where(v => v.ModelName == command.ModelName && v.Aliases.Contains(command.Alias))
            .Select(v => v.Id).FirstOrDefaultAsync();
        // Both streams are fetched for writing so that a concurrent alias move is detected, not overwritten.
        var holder = holderId is null || holderId == key ? null : await session.Events.FetchForWriting<ModelVersion>(holderId);
        var (onTarget, onHolder) = RegistryDecisions.SetAlias(target.Aggregate, holder?.Aggregate, command, actor.Name, time.GetUtcNow());
        target.AppendMany(onTarget);
        holder?.AppendMany(onHolder);
        return session.Answered(new CommandAccepted(command.CommandId, key, (target.StartingVersion ?? 0) + onTarget.Length, onTarget.Length + onHolder.Length));
    }
}
