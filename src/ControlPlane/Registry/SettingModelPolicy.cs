using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using Marten;

namespace EventMlOps.ControlPlane.Registry;

public static class SetModelPolicyHandler
{
    public static async Task<CommandAccepted> Handle(SetModelPolicy command, Actor actor, IDocumentSession session, TimeProvider time)
    {
        var modelExists = await session.Query<ModelVersion>().AnyAsync(v => v.ModelName == command.ModelName);
        var datasetRegistered = command.Retraining?.Dataset is { } dataset && await session.Query<Dataset>().AnyAsync(d => d.Name == dataset);
        return await session.DecideAsync<ModelPolicy>(command, StreamKeys.ModelPolicy(command.ModelName),
            p => ModelPolicyDecisions.Set(p, modelExists, datasetRegistered, command, actor, time.GetUtcNow()), command.ExpectedVersion);
    }
}

/// <summary>Pure decisions over a model's policies.</summary>
public static class ModelPolicyDecisions
{
    public const int MaxFeatureTests = 256;

    /// <summary>Replaces the model's policies; the same policies again append nothing. A retraining policy names a registered
    /// dataset (its latest version is trained on) and a rollout strategy that a rollout would take.</summary>
    /// <param name="modelExists">Whether the model has a registered version.</param>
    /// <param name="datasetRegistered">Whether a dataset of the retraining policy's name is registered.</param>
    /// <param name="actor">The sender: the loop requests runs and rolls out in its name, so it must hold the roles those need.</param>
    public static object[] Set(ModelPolicy? current, bool modelExists, bool datasetRegistered, SetModelPolicy c, Actor actor, DateTimeOffset now)
    {
        Guard.Name("modelName", c.ModelName);
        if (!modelExists) throw new NotFound("model", c.ModelName);
        var drift = Drift(c.Drift ?? DriftPolicy.Default);
        var retraining = c.Retraining is { } r
            ? new RetrainingPolicy(Guard.Name("retraining.dataset", r.Dataset), r.Rollout is null ? null : EndpointDecisions.Strategy(r.Rollout, "retraining.rollout"))
            : null;
        if (retraining is not null)
        {
            string[] needed = retraining.Rollout is null ? [Roles.Scientist] : [Roles.Scientist, Roles.Operator];
            if (needed.Where(role => !actor.IsIn(role)).ToList() is { Count: > 0 } missing)
                throw new Forbidden($"a retraining policy requests runs{(retraining.Rollout is null ? "" : " and rolls out")} in its author's name: " +
                                    $"{actor.Name} lacks the role{(missing.Count > 1 ? "s" : "")} {string.Join(" and ", missing.Select(r => $"'{r}'"))}");
            if (!datasetRegistered) throw new NotFound("dataset", retraining.Dataset);
        }
        if (current is not null && Canonical(current.Drift, current.Retraining) == Canonical(drift, retraining)) return [];
        return [new ModelPolicySet(c.ModelName, drift, retraining, actor.Name, now)];
    }

    /// <summary>A drift policy within bounds an agent can honour: windows of 10..100,000 samples and 5 s..1 day, alarms after
    /// 1..100 windows, explicit tests for at most <see cref="MaxFeatureTests"/> features, each a method (not Auto) with a
    /// threshold in its range: a p-value in (0, 1), a Jensen–Shannon distance in (0, 1], a Wasserstein distance (in reference
    /// standard deviations) or PSI in (0, 10]. Features are kept in name order.</summary>
    public static DriftPolicy Drift(DriftPolicy p)
    {
        if (p.DriftShare is not (> 0 and <= 1)) throw new InvalidField("drift.driftShare", "must be a share in (0, 1]");
        if (p.WindowSamples is < 10 or > 100_000) throw new InvalidField("drift.windowSamples", "must be within 10..100000");
        if (p.WindowSeconds is < 5 or > 86_400) throw new InvalidField("drift.windowSeconds", "must be within 5..86400");
        if (p.DetectAfter is < 1 or > 100) throw new InvalidField("drift.detectAfter", "must be within 1..100");
        if (p.ClearAfter is < 1 or > 100) throw new InvalidField("drift.clearAfter", "must be within 1..100");
        var features = p.Features ?? new Dictionary<string, DriftTest>();
        if (features.Count > MaxFeatureTests) throw new InvalidField("drift.features", $"has {features.Count} entries; at most {MaxFeatureTests} are accepted");
        foreach (var (name, test) in features)
        {
            // A longer name could never be tested: drift facts name features of at most this length.
            if (Guard.Key("drift.features", name).Length > JudgingWindows.MaxFeatureName)
                throw new InvalidField("drift.features", $"{Guard.Shown(name)} is longer than {JudgingWindows.MaxFeatureName} characters, the most a drift fact names");
            if (test is null || !Enum.IsDefined(test.Method) || test.Method == DriftMethod.Auto)
                throw new InvalidField($"drift.features.{name}.method", $"must be one of {string.Join(", ", Enum.GetNames<DriftMethod>().Skip(1))}");
            var t = test.Threshold;
            var (valid, range) = test.Method switch
            {
                DriftMethod.KolmogorovSmirnov or DriftMethod.ChiSquared => (t is > 0 and < 1, "a p-value in (0, 1)"),
                DriftMethod.JensenShannon => (t is > 0 and <= 1, "a distance in (0, 1]"),
                _ => (t is > 0 and <= 10, "a distance in (0, 10]"),
            };
            if (!valid) throw new InvalidField($"drift.features.{name}.threshold", $"must be {range} for {test.Method}");
        }
        return p with { Features = features.OrderBy(f => f.Key, StringComparer.Ordinal).ToDictionary() };
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Policies compare by content (their lists and maps too): an identical policy set again is no change.</summary>
    private static string Canonical(DriftPolicy drift, RetrainingPolicy? retraining) => JsonSerializer.Serialize(new { drift, retraining }, Json);
}
