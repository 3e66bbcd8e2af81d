using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Training;

/// <summary>Facts the training agent reports about a run's physical job.</summary>
public static class TrainingFactsHandler
{
    public static Task<CommandAccepted> Handle(TrainingJobSubmitted fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Submitted(run, fact, time.GetUtcNow()));

    public static Task<CommandAccepted> Handle(TrainingStarted fact, IDocumentSession session) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Started(run, fact));

    public static Task<CommandAccepted> Handle(EpochCompleted fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Epoch(run, fact, time.GetUtcNow()));

    public static Task<CommandAccepted> Handle(TrainingSucceeded fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Succeeded(run, fact, time.GetUtcNow()));

    public static Task<CommandAccepted> Handle(TrainingHeartbeat fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Heartbeat(run, fact, time.GetUtcNow()));

    public static Task<CommandAccepted> Handle(TrainingFailed fact, IDocumentSession session, TimeProvider time) =>
        session.DecideAsync<TrainingRun>(fact, StreamKeys.Run(fact.RunId), run => TrainingDecisions.Failed(run, fact, time.GetUtcNow()));
}
