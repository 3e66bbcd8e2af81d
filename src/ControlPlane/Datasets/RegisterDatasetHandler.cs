using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Datasets;

public static class RegisterDatasetHandler
{
    /// <summary>A dataset is its content: registering content already registered (the same sha256) under another id answers
    /// with the existing dataset's stream and appends nothing, so clients need no racy look-up first.</summary>
    public static async Task<CommandAccepted> Handle(RegisterDataset command, Actor actor, IDocumentSession session, DataLocations locations,
        TrainerCatalog trainers, TimeProvider time)
    {
        var known = command.Sha256 is { Length: 64 }
            ? await session.Query<Dataset>().Where(d => d.Sha256 == command.Sha256 && d.DatasetId != command.DatasetId).OrderBy(d => d.RegisteredAt).FirstOrDefaultAsync()
            : null;
        if (known is not null)
        {
            DatasetDecisions.Register(null, command, locations, trainers, actor.Name, time.GetUtcNow()); // the same checks: a bad command stays refused
            return session.Answered(new CommandAccepted(command.CommandId, known.Id, 1, 0));
        }
        return await session.DecideAsync<Dataset>(command, StreamKeys.Dataset(command.DatasetId),
            current => DatasetDecisions.Register(current, command, locations, trainers, actor.Name, time.GetUtcNow()));
    }
}
