using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Datasets;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Datasets;

public static class RegisterDatasetHandler
{
    public static Task<CommandAccepted> Handle(RegisterDataset command, Actor actor, IDocumentSession session, DataLocations locations, TrainerCatalog trainers, TimeProvider time) =>
        session.DecideAsync<Dataset>(command, StreamKeys.Dataset(command.DatasetId),
            current => DatasetDecisions.Register(current, command, locations, trainers, actor.Name, time.GetUtcNow()));
}
