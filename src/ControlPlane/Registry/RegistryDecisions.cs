using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Training;

namespace EventMlOps.ControlPlane.Registry;

/// <summary>Pure decisions over model versions.</summary>
public static class RegistryDecisions
{
    /// <summary>A version is registered only from a succeeded run of that model, once per run, and only from the trainer
    /// kind of the model's earlier versions (<paramref name="previous"/>): an anomaly detector is no recommender version.</summary>
    public static object[] Register(TrainingRun? run, ModelVersion? previous, int nextVersion, RegisterModelVersion c, string actor, DateTimeOffset now,
        RunTracking? tracked = null)
    {
        Guard.Name("modelName", c.ModelName);
        Guard.Id("runId", c.RunId);
        var r = run ?? throw new NotFound("run", c.RunId.ToString("N"));
        if (r.TrainerKind == TrainingRun.Tracked) return RegisterTracked(r, tracked, previous, nextVersion, c, actor, now);
        if (r.Status != RunStatus.Succeeded)
            throw new Refused($"run {c.RunId:N} is {r.Status.ToString().ToLowerInvariant()}; only a succeeded run can be registered as a model version");
        if (r.RegisteredVersion is { } existing)
            throw new Refused($"run {c.RunId:N} is already registered as {r.ModelName}@{existing}");
        if (r.ModelName != c.ModelName)
            throw new Refused($"run {c.RunId:N} trained model '{r.ModelName}', not '{c.ModelName}'");
        if (previous?.TrainerKind is { } kind && kind != r.TrainerKind)
            throw new Refused($"{c.ModelName} holds versions of the '{kind}' trainer; run {c.RunId:N} is a '{r.TrainerKind}' run");
        return
        [
            new ModelVersionRegistered(c.ModelName, nextVersion, r.RunId, new ModelArtifact(r.ArtifactUri!, r.ArtifactSha256!), r.DatasetId, r.DatasetSha256,
                r.Metrics ?? new Dictionary<string, double>(), actor, now, r.RequestedBy, r.TrainerKind),
            new TrainingRunRegistered(r.RunId, c.ModelName, nextVersion, now),
        ];
    }

    /// <summary>A run an MLflow client started registers the ONNX model it uploaded (MLflow's <c>model-versions/create</c>
    /// names it by its source), while running too, as MLflow's <c>log_model(registered_model_name=…)</c> does; under any
    /// model name; with its latest finite metrics and no dataset unless one is known.</summary>
    private static object[] RegisterTracked(TrainingRun r, RunTracking? tracked, ModelVersion? previous, int nextVersion, RegisterModelVersion c, string actor,
        DateTimeOffset now)
    {
        if (r.Status is not (RunStatus.Running or RunStatus.Succeeded))
            throw new Refused($"run {r.RunId:N} is {r.Status.ToString().ToLowerInvariant()}; only a running or finished run's model can be registered");
        if (r.RegisteredVersion is { } existing)
            throw new Refused($"run {r.RunId:N} is already registered as version {existing}");
        if (previous?.TrainerKind is { } kind && kind != r.TrainerKind)
            throw new Refused($"{c.ModelName} holds versions of the '{kind}' trainer; run {r.RunId:N} was started by an MLflow client");
        var path = Mlflow.RunArtifacts.ValidPath(c.ArtifactPath);
        var artifacts = tracked?.Artifacts ?? new Dictionary<string, Contracts.Artifacts.ArtifactRef>();
        var file = path.EndsWith(".onnx", StringComparison.Ordinal) ? path : $"{path}/model.onnx";
        var model = artifacts.GetValueOrDefault(file)
            ?? throw new InvalidField("source", $"run {r.RunId:N} has no ONNX model at {Guard.Shown(file)}: EventMlOps serves ONNX models (mlflow.onnx.log_model writes <path>/model.onnx)");
        var metrics = (tracked?.MetricHistory ?? []).GroupBy(m => m.Key).Select(g => g.OrderBy(m => m.Step).Last())
            .Where(m => double.IsFinite(m.Value)).ToDictionary(m => m.Key, m => m.Value);
        return
        [
            new ModelVersionRegistered(c.ModelName, nextVersion, r.RunId, new ModelArtifact(model.Uri, model.Sha256), r.DatasetId, r.DatasetSha256, metrics, actor, now,
                r.RequestedBy, r.TrainerKind, $"{Mlflow.RunArtifacts.Uri(r, serving: true)}/{path}"),
            new TrainingRunRegistered(r.RunId, c.ModelName, nextVersion, now),
        ];
    }

    /// <summary>Four eyes: whoever registered a version, or requested the run that trained it, cannot approve it.</summary>
    public static object[] Approve(ModelVersion? version, ApproveModelVersion c, string actor, DateTimeOffset now)
    {
        var v = Existing(version, c.ModelName, c.Version);
        if (v.Stage == ModelStage.Archived)
            throw new Refused($"{v.ModelName}@{v.Version} is archived");
        if (v.IsAuthor(actor))
            throw new Refused($"four-eyes rule: {actor} {(actor == v.RegisteredBy ? "registered" : "requested the run behind")} {v.ModelName}@{v.Version} and cannot approve it; another approver must");
        return v.Approvals.Any(a => a.By == actor) ? [] : [new ModelVersionApproved(v.ModelName, v.Version, actor, Guard.Text("comment", c.Comment), now)];
    }

    /// <summary>Sets an alias; <paramref name="holder"/> is the version holding it now, which loses it.</summary>
    public static (object[] OnTarget, object[] OnHolder) SetAlias(ModelVersion? version, ModelVersion? holder, SetModelAlias c, string actor, DateTimeOffset now)
    {
        var v = Existing(version, c.ModelName, c.Version);
        Guard.Name("alias", c.Alias);
        if (v.Stage == ModelStage.Archived)
            throw new Refused($"{v.ModelName}@{v.Version} is archived; an archived version cannot carry an alias");
        if (v.Aliases.Contains(c.Alias))
            return ([], []);
        object[] onHolder = holder is null ? [] : [new ModelVersionAliasRemoved(holder.ModelName, holder.Version, c.Alias, actor, now)];
        return ([new ModelVersionAliasSet(v.ModelName, v.Version, c.Alias, actor, now)], onHolder);
    }

    /// <summary>Production needs an approval by someone other than the version's authors.</summary>
    public static object[] TransitionStage(ModelVersion? version, TransitionModelStage c, string actor, DateTimeOffset now)
    {
        var v = Existing(version, c.ModelName, c.Version);
        if (!Enum.IsDefined(c.Stage) || c.Stage == ModelStage.None)
            throw new InvalidField("stage", "must be Staging, Production or Archived");
        if (v.Stage == c.Stage)
            return [];
        if (c.Stage == ModelStage.Production && !v.IsApproved)
            throw new Refused($"{v.ModelName}@{v.Version} needs an approval by someone other than its registrant ({v.RegisteredBy}) and the run's requester ({v.RunRequestedBy ?? "-"}) before Production");
        return [new ModelVersionStageChanged(v.ModelName, v.Version, v.Stage, c.Stage, actor, now)];
    }

    private static ModelVersion Existing(ModelVersion? version, string model, int number) =>
        version ?? throw new NotFound("model version", $"{model}@{number}");
}
