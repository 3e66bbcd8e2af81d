using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using Marten;

namespace EventMlOps.ControlPlane.Training;

/// <summary>Requests a run repeating another (<see cref="TrainingDecisions.Reproduce"/>): both streams are written in one
/// transaction, each checked at commit against the version read, so two reproductions of one run racing are a conflict.</summary>
public static class ReproduceRunHandler
{
    public static async Task<CommandAccepted> Handle(ReproduceRun command, Actor actor, IDocumentSession session, TrainerCatalog catalog,
        TimeProvider time, CancellationToken ct)
    {
        var originalStream = StreamKeys.Run(command.OriginalRunId);
        var original = await session.Events.FetchForWriting<TrainingRun>(originalStream, ct);
        var tracked = await session.StateAsync<RunTracking>(originalStream, null, ct);
        var dataset = original.Aggregate is { } o ? await session.LoadAsync<Dataset>(StreamKeys.Dataset(o.DatasetId), ct) : null;
        var stream = StreamKeys.Run(command.RunId);
        var reproduction = await session.Events.FetchForWriting<TrainingRun>(stream, ct);
        var (onOriginal, onReproduction) = TrainingDecisions.Reproduce(original.Aggregate, tracked, reproduction.Aggregate, dataset, command, catalog,
            actor.Name, time.GetUtcNow());
        original.AppendMany(onOriginal);
        reproduction.AppendMany(onReproduction);
        return session.Answered(new CommandAccepted(command.CommandId, stream, (reproduction.StartingVersion ?? 0) + onReproduction.Length,
            onOriginal.Length + onReproduction.Length));
    }
}
