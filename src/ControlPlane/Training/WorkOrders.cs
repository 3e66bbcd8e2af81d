using EventMlOps.Contracts.Training;
using JasperFx.Events;

namespace EventMlOps.ControlPlane.Training;

/// <summary>Turns run events into work orders for the training agent (Marten subscription, strict order).</summary>
public static class TrainingWorkOrdersHandler
{
    public static LaunchTraining Handle(IEvent<TrainingRunRequested> e) => new(
        e.Data.RunId, e.Data.ModelName, e.Data.TrainerKind, e.Data.DatasetUri, e.Data.DatasetSha256,
        e.Data.Hyperparameters, e.Data.Resources, e.Data.CodeVersion);

    public static StopTraining Handle(IEvent<TrainingRunCancelled> e) => new(e.Data.RunId, e.Data.Reason);
}
