using System.Text.Json;
using System.Text.Json.Nodes;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.Registry;

/// <summary>A version's model file: where it is and the sha256 whoever loads it verifies, never one without the other.</summary>
public sealed record ModelArtifact(string Uri, string Sha256);

/// <summary>Schema version 2 (stored as <c>model_version_registered_v2</c>): the artifact is one value. Version 1 carried it
/// as two loose fields, <c>artifactUri</c> and <c>artifactSha256</c>; histories holding it are read through
/// <see cref="FromVersion1"/> (<see cref="RegistrySlice"/> registers both).</summary>
public sealed record ModelVersionRegistered(
    string ModelName,
    int Version,
    Guid RunId,
    ModelArtifact Artifact,
    Guid DatasetId,
    string DatasetSha256,
    IReadOnlyDictionary<string, double> Metrics,
    string RegisteredBy,
    DateTimeOffset RegisteredAt,
    string? RunRequestedBy = null,
    string? TrainerKind = null,
    string? Source = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The upcaster of schema version 1: its two artifact fields become <see cref="Artifact"/>; the rest is as it was.</summary>
    public static ModelVersionRegistered FromVersion1(JsonDocument v1)
    {
        var e = JsonNode.Parse(v1.RootElement.GetRawText())!.AsObject();
        e["artifact"] = new JsonObject { ["uri"] = e["artifactUri"]?.DeepClone(), ["sha256"] = e["artifactSha256"]?.DeepClone() };
        e.Remove("artifactUri");
        e.Remove("artifactSha256");
        return e.Deserialize<ModelVersionRegistered>(Json)!;
    }
}

public sealed record ModelVersionApproved(string ModelName, int Version, string ApprovedBy, string? Comment, DateTimeOffset ApprovedAt);

public sealed record ModelVersionAliasSet(string ModelName, int Version, string Alias, string SetBy, DateTimeOffset SetAt);

public sealed record ModelVersionAliasRemoved(string ModelName, int Version, string Alias, string RemovedBy, DateTimeOffset RemovedAt);

public sealed record ModelVersionStageChanged(string ModelName, int Version, ModelStage From, ModelStage To, string ChangedBy, DateTimeOffset ChangedAt);

/// <summary>One version of a registered model (stream <c>model:{name}@{version}</c>).</summary>
public sealed record ModelVersion(
    string Id,
    string ModelName,
    int Version,
    Guid RunId,
    string ArtifactUri,
    string ArtifactSha256,
    Guid DatasetId,
    string DatasetSha256,
    IReadOnlyDictionary<string, double> Metrics,
    string RegisteredBy,
    DateTimeOffset RegisteredAt,
    ModelStage Stage,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<Approval> Approvals,
    IReadOnlyList<StageChange> StageHistory,
    IReadOnlyList<AliasChange> AliasHistory,
    string? RunRequestedBy = null,
    string? TrainerKind = null,
    string? Source = null)
{
    /// <summary>The people responsible for this version: none of them may be its four-eyes approver. Names compare as
    /// principals do (case and surrounding spaces aside), so histories from before names were normalised agree.</summary>
    public bool IsAuthor(string actor) => Same(actor, RegisteredBy) || (RunRequestedBy is not null && Same(actor, RunRequestedBy));

    /// <summary>The four-eyes rule, one place for every use (stage, rollout, registry views): approved by a non-author.</summary>
    public bool IsApproved => Approvals.Any(a => !IsAuthor(a.By));

    private static bool Same(string a, string b) => string.Equals(a.Trim(), b.Trim(), StringComparison.OrdinalIgnoreCase);

    /// <summary>The stream version. Named explicitly: without it Marten's convention would write the stream
    /// version into <see cref="Version"/>, the model's version number.</summary>
    [Marten.Schema.Version]
    public long StreamVersion { get; init; }

    public static ModelVersion Create(ModelVersionRegistered e) => new(
        StreamKeys.ModelVersion(e.ModelName, e.Version), e.ModelName, e.Version, e.RunId, e.Artifact.Uri, e.Artifact.Sha256,
        e.DatasetId, e.DatasetSha256, e.Metrics, e.RegisteredBy, e.RegisteredAt, ModelStage.None, [], [], [], [], e.RunRequestedBy, e.TrainerKind, e.Source);

    public ModelVersion Apply(ModelVersionApproved e) => this with { Approvals = [.. Approvals, new Approval(e.ApprovedBy, e.Comment, e.ApprovedAt)] };

    public ModelVersion Apply(ModelVersionAliasSet e) => this with
    {
        Aliases = [.. Aliases, e.Alias], AliasHistory = [.. AliasHistory, new AliasChange(e.Alias, true, e.SetBy, e.SetAt)],
    };

    public ModelVersion Apply(ModelVersionAliasRemoved e) => this with
    {
        Aliases = [.. Aliases.Where(a => a != e.Alias)], AliasHistory = [.. AliasHistory, new AliasChange(e.Alias, false, e.RemovedBy, e.RemovedAt)],
    };

    public ModelVersion Apply(ModelVersionStageChanged e) => this with
    {
        Stage = e.To, StageHistory = [.. StageHistory, new StageChange(e.From, e.To, e.ChangedBy, e.ChangedAt)],
    };

    public ModelVersionView ToView() => new(
        Id, ModelName, Version, RunId, ArtifactUri, ArtifactSha256, DatasetId, DatasetSha256, Metrics, RegisteredBy, RegisteredAt, Stage, Aliases,
        Approvals, StageHistory, AliasHistory, RunRequestedBy, TrainerKind, IsApproved, StreamVersion);
}
