namespace EventMlOps.Contracts.Registry;

public enum ModelStage { None, Staging, Production, Archived }

/// <summary>Registers the artifact of a succeeded run as the next version of <paramref name="ModelName"/>.</summary>
[SentBy(Roles.Scientist)]
public sealed record RegisterModelVersion(Guid CommandId, string ModelName, Guid RunId) : ICommand;

[SentBy(Roles.Approver)]
public sealed record ApproveModelVersion(Guid CommandId, string ModelName, int Version, string? Comment = null) : ICommand;

/// <summary>Points an alias (e.g. "champion") at a version; an alias names one version at a time.</summary>
[SentBy(Roles.Scientist)]
public sealed record SetModelAlias(Guid CommandId, string ModelName, int Version, string Alias) : ICommand;

[SentBy(Roles.Approver)]
public sealed record TransitionModelStage(Guid CommandId, string ModelName, int Version, ModelStage Stage) : ICommand;
