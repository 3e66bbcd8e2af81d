using EventMlOps.Contracts.Artifacts;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;

namespace EventMlOps.ControlPlane.Training;

/// <summary>What the trainer tracked on a run — MLflow's params, tags and metric history — projected from the run's
/// stream into a document of its own (inline), so that the run's decision state, which every fact about the run loads,
/// no longer grows with each tracking call. Time travel aggregates it live like any stream view.</summary>
public sealed record RunTracking(string Id, Guid RunId)
{
    public IReadOnlyDictionary<string, string> Params { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();

    public IReadOnlyList<MetricPoint> MetricHistory { get; init; } = [];

    /// <summary>The files uploaded through MLflow's artifact proxy, by path (a path uploaded again points at its new content).</summary>
    public IReadOnlyDictionary<string, ArtifactRef> Artifacts { get; init; } = new Dictionary<string, ArtifactRef>();

    /// <summary>The datasets an MLflow client logged as inputs, in the order logged.</summary>
    public IReadOnlyList<RunInput> Inputs { get; init; } = [];

    public RunTracking Apply(RunInputsLogged e) => this with { Inputs = [.. Inputs, .. e.Inputs] };

    public RunTracking Apply(RunArtifactLogged e) => this with { Artifacts = new Dictionary<string, ArtifactRef>(Artifacts) { [e.Path] = e.Artifact } };

    public static RunTracking Create(TrainingRunRequested e) => new(StreamKeys.Run(e.RunId), e.RunId);

    public static RunTracking Create(TrackedRunStarted e) => new(StreamKeys.Run(e.RunId), e.RunId) { Tags = e.Tags };

    public RunTracking Apply(RunTagDeleted e)
    {
        var tags = new Dictionary<string, string>(Tags);
        tags.Remove(e.Key);
        return this with { Tags = tags };
    }

    public RunTracking Apply(TrainingRunLogged e) => this with
    {
        Params = Merge(Params, e.Params),
        Tags = Merge(Tags, e.Tags),
        MetricHistory = [.. MetricHistory, .. e.Metrics],
    };

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> current, IReadOnlyDictionary<string, string> logged)
    {
        var merged = new Dictionary<string, string>(current);
        foreach (var (k, v) in logged) merged[k] = v;
        return merged;
    }
}
