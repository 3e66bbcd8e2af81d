using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using Marten;

namespace EventMlOps.ControlPlane.Training;

public static class RequestTrainingHandler
{
    public static async Task<CommandAccepted> Handle(RequestTraining command, Actor actor, IDocumentSession session, TrainerCatalog catalog, TimeProvider time)
    {
        var dataset = await session.LoadAsync<Dataset>(StreamKeys.Dataset(command.DatasetId));
        return await session.DecideAsync<TrainingRun>(command, StreamKeys.Run(command.RunId),
            run => TrainingDecisions.Request(run, dataset, command, catalog, actor.Name, time.GetUtcNow()));
    }
}

public static class CancelTrainingHandler
{
    public static Task<CommandAccepted> Handle(CancelTraining command, Actor actor, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(command, StreamKeys.Run(command.RunId),
            run => TrainingDecisions.Cancel(run, command, actor.Name, time.GetUtcNow()));
}
