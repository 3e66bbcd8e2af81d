using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Contracts.Registry;

public enum ModelStage { None, Staging, Production, Archived }

/// <summary>Registers the artifact of a succeeded run as the next version of <paramref name="ModelName"/>; for a run an MLflow
/// client started, the ONNX model it uploaded at <paramref name="ArtifactPath"/> (a file, or a folder holding model.onnx).</summary>
[SentBy(Roles.Scientist)]
public sealed record RegisterModelVersion(Guid CommandId, string ModelName, Guid RunId, string? ArtifactPath = null) : ICommand;

[SentBy(Roles.Approver)]
public sealed record ApproveModelVersion(Guid CommandId, string ModelName, int Version, string? Comment = null) : ICommand;

/// <summary>Points an alias (e.g. "champion") at a version; an alias names one version at a time.</summary>
[SentBy(Roles.Scientist)]
public sealed record SetModelAlias(Guid CommandId, string ModelName, int Version, string Alias) : ICommand;

/// <summary>Takes an alias off the version it names (MLflow's delete alias); the version itself stays as it was.</summary>
[SentBy(Roles.Scientist)]
public sealed record RemoveModelAlias(Guid CommandId, string ModelName, string Alias) : ICommand;

[SentBy(Roles.Approver)]
public sealed record TransitionModelStage(Guid CommandId, string ModelName, int Version, ModelStage Stage) : ICommand;

/// <summary>What a drift alarm on one of the model's endpoints does: a training run on the latest version of the
/// registered dataset <paramref name="Dataset"/>, with the trainer and hyperparameters of the run behind the drifting
/// version; once its version is registered and approved (four eyes: never by the policy itself), a rollout by
/// <paramref name="Rollout"/> on that endpoint (null: none, an operator rolls out).</summary>
public sealed record RetrainingPolicy(string Dataset, RolloutStrategy? Rollout = null);

/// <summary>Sets a model's policies, replacing the previous ones: how its endpoints' traffic is judged for drift
/// (null: the defaults) and whether a drift alarm retrains it (null: it does not). <paramref name="ExpectedVersion"/>, when given,
/// is the policy stream version the caller saw (optimistic concurrency; 0: no policy set yet). A retraining policy acts in
/// its sender's name, so the sender must hold the roles its loop acts with: scientist for the run, operator for a rollout.</summary>
[SentBy(Roles.Operator)]
public sealed record SetModelPolicy(
    Guid CommandId, string ModelName, DriftPolicy? Drift = null, RetrainingPolicy? Retraining = null, long? ExpectedVersion = null) : ICommand;
