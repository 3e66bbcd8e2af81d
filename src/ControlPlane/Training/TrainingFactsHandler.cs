using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Training;

/// <summary>Facts the training agent reports about a run's physical job.</summary>
public static class TrainingFactsHandler
{
    public static Task<CommandAccepted> Handle(JobSubmittedReport fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Submitted(run, fact, time.GetUtcNow()));

    public static Task<CommandAccepted> Handle(TrainingStartedReport fact, IDocumentSession session) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Started(run, fact));

    public static Task<CommandAccepted> Handle(EpochReport fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Epoch(run, fact, time.GetUtcNow()));

    public static Task<CommandAccepted> Handle(TrainingSucceededReport fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Succeeded(run, fact, time.GetUtcNow()));

    public static Task<CommandAccepted> Handle(JobWaitingReport fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Waiting(run, fact, time.GetUtcNow()));

    /// <summary>A beat overwrites the run's liveness document; it appends nothing.</summary>
    public static async Task<CommandAccepted> Handle(HeartbeatReport fact, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var stream = StreamKeys.Run(fact.RunId);
        if (TrainingDecisions.Heartbeat(await session.LoadAsync<TrainingRun>(stream, ct), fact, time.GetUtcNow()) is { } liveness)
            session.Store(liveness);
        var state = await session.Events.FetchStreamStateAsync(stream, ct);
        return session.Answered(new CommandAccepted(fact.CommandId, stream, state?.Version ?? 0, 0));
    }

    public static Task<CommandAccepted> Handle(TrainingFailedReport fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Failed(run, fact, time.GetUtcNow()));
}
