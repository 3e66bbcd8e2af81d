using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.WorkOrders;
using JasperFx.Events;

namespace EventMlOps.ControlPlane.Training;

/// <summary>Turns run events into work orders for the training agent (Marten subscription, strict order).</summary>
public static class TrainingWorkOrdersHandler
{
    /// <summary>How long a run's tracking token lives: longer than any training we expect to run.</summary>
    private static readonly TimeSpan TrackingTokenLifetime = TimeSpan.FromDays(3);

    public static LaunchTraining Handle(IEvent<TrainingRunRequested> e, Tokens tokens) =>
        Launch(e.Data.RunId, e.Data.ModelName, e.Data.TrainerKind, e.Data.DatasetUri, e.Data.DatasetSha256, e.Data.Hyperparameters,
            e.Data.Resources, e.Data.CodeVersion, e.Data.Options, tokens);

    public static StopTraining Handle(IEvent<TrainingRunCancelled> e) => new(e.Data.RunId, e.Data.Reason);

    /// <summary>The order with its run-scoped tracking token (for the trainer) and grant (for the agent's facts).</summary>
    public static LaunchTraining Launch(Guid runId, string model, string trainer, string datasetUri, string datasetSha256,
        IReadOnlyDictionary<string, double> hyperparameters, TrainingResources resources, string codeVersion, IReadOnlyDictionary<string, string>? options,
        Tokens tokens) =>
        new(runId, model, trainer, datasetUri, datasetSha256, hyperparameters, resources, codeVersion,
            tokens.IssueForRun(runId, TrackingTokenLifetime), tokens.ForRun(runId), options);
}
