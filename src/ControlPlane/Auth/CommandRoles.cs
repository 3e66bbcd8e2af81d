using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;

namespace EventMlOps.ControlPlane.Auth;

/// <summary>The role each command needs (admin may do everything; every role may read).</summary>
public static class CommandRoles
{
    private static readonly Dictionary<Type, string> Required = new()
    {
        [typeof(RegisterDataset)] = Roles.Scientist,
        [typeof(RequestTraining)] = Roles.Scientist,
        [typeof(CancelTraining)] = Roles.Scientist,
        [typeof(RegisterModelVersion)] = Roles.Scientist,
        [typeof(SetModelAlias)] = Roles.Scientist,
        [typeof(ApproveModelVersion)] = Roles.Approver,
        [typeof(TransitionModelStage)] = Roles.Approver,
        [typeof(CreateEndpoint)] = Roles.Operator,
        [typeof(RollOut)] = Roles.Operator,
        [typeof(PromoteRollout)] = Roles.Operator,
        [typeof(AbortRollout)] = Roles.Operator,
        [typeof(Rollback)] = Roles.Operator,
        [typeof(DeleteEndpoint)] = Roles.Operator,
        [typeof(AdvanceRollout)] = Roles.Operator,
        [typeof(TrainingJobSubmitted)] = Roles.Agent,
        [typeof(TrainingStarted)] = Roles.Agent,
        [typeof(EpochCompleted)] = Roles.Agent,
        [typeof(TrainingSucceeded)] = Roles.Agent,
        [typeof(TrainingFailed)] = Roles.Agent,
        [typeof(TrainingHeartbeat)] = Roles.Agent,
        [typeof(Training.LogToRun)] = Roles.Agent,
        [typeof(RolloutStepObserved)] = Roles.Agent,
        [typeof(EndpointObserved)] = Roles.Agent,
        [typeof(ServingReplicaChanged)] = Roles.Agent,
        [typeof(DriftMeasured)] = Roles.Agent,
        [typeof(DriftDetected)] = Roles.Agent,
        [typeof(RequestWorkOrders)] = Roles.Agent,
    };

    public static string For(Type command) =>
        Required.TryGetValue(command, out var role) ? role : Roles.Admin;

    public static IEnumerable<Type> Commands => Required.Keys;
}
