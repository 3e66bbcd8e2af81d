using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Mlflow;

/// <summary>One tracking call, whatever its MLflow shape: becomes one <see cref="TrainingRunLogged"/> event. Sent by a
/// trainer with its run-scoped token, or by the person whose MLflow client started the run (<see cref="TrackedRuns.EnsureWriter"/>).</summary>
[EventMlOps.Contracts.SentBy(EventMlOps.Contracts.Roles.Scientist)]
public sealed record LogToRun(
    Guid CommandId,
    Guid RunId,
    IReadOnlyList<MetricPoint> Metrics,
    IReadOnlyDictionary<string, string> Params,
    IReadOnlyDictionary<string, string> Tags) : EventMlOps.Contracts.ICommand, IRunScoped;

public static class LogToRunHandler
{
    public static async Task<CommandAccepted> Handle(LogToRun command, Actor actor, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var stream = StreamKeys.Run(command.RunId);
        var tracked = await session.StateAsync<RunTracking>(stream, null, ct);
        return await session.DecideAsync<TrainingRun>(command, stream, run => TrainingDecisions.Log(run, tracked, command, actor, time.GetUtcNow()));
    }
}
