using EventMlOps.Contracts.Drift;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Endpoints;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>Judges the drift agent's measurement of a window of a served version by the model's policy, and decides alarms
/// with hysteresis: raised after <see cref="DriftPolicy.DetectAfter"/> drifting windows in a row, cleared after
/// <see cref="DriftPolicy.ClearAfter"/> clean ones. The agent says which method it used and what it measured, never what
/// counts as drift: thresholds are the policy's. A fact of a version the endpoint does not serve now, of a window that starts
/// before the version's current serving began, or of a window not after the version's last judged one, is stale and changes
/// nothing.</summary>
public static class JudgingWindows
{
    public const int MaxFeatures = 128, MaxFeatureName = 64;

    /// <summary>Beyond this, a window's end is in the future by more than clocks disagree.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <param name="policy">The model's drift policy (<see cref="DriftPolicy.Default"/> when none was set).</param>
    public static object[] Judge(EndpointState? endpoint, DriftPolicy policy, DriftMeasured c, string actor, DateTimeOffset now)
    {
        var e = endpoint ?? throw new NotFound("endpoint", c.Endpoint);
        var features = Validated(c, now);
        if (c.ModelName != e.ModelName || e.Traffic.All(t => t.Version != c.Version)) return [];
        // Samples of a serving exist only once it began; the replicas' clocks may lag the control plane's by the skew.
        if (e.ServingSince(c.Version) is { } since && c.WindowStart < since - ClockSkew) return [];
        var streak = e.Drift?.FirstOrDefault(d => d.Version == c.Version);
        if (streak is not null && c.WindowStart < streak.LastWindowEnd) return [];

        var judged = features.Select(f => Judged(f, policy)).ToList();
        var inputs = judged.Where(f => f.Role == FeatureRole.Input).ToList();
        var drifted = (inputs.Count > 0 && inputs.Count(f => f.Drifted) >= policy.DriftShare * inputs.Count)
                      || judged.Any(f => f is { Role: FeatureRole.Output, Drifted: true });
        var window = new EndpointDriftMeasured(e.Name, e.ModelName, c.Version, c.WindowStart, c.WindowEnd, c.Samples, judged, drifted, actor, now);

        var after = e.Apply(window).Drift!.Single(d => d.Version == c.Version);
        if (after.Alarm is null && after.Drifting >= policy.DetectAfter)
            // The alarm is named by the fact that raised it: a retried fact names the same alarm.
            return [window, new DriftDetected(e.Name, e.ModelName, c.Version, c.CommandId, [.. judged.Where(f => f.Drifted)], after.DriftingSince!.Value,
                c.WindowEnd, after.Drifting, actor, now)];
        if (after.Alarm is { } open && after.Clean >= policy.ClearAfter)
            return [window, new DriftCleared(e.Name, e.ModelName, c.Version, open, c.WindowEnd, $"{after.Clean} clean windows in a row", actor, now)];
        return [window];
    }

    /// <summary>A feature judged by the policy's test for it (which must be the method the agent used) or, without one,
    /// by the method's default threshold.</summary>
    private static FeatureJudgement Judged(FeatureScore f, DriftPolicy policy)
    {
        var test = policy.Features?.GetValueOrDefault(f.Feature);
        if (test is not null && test.Method != f.Method)
            throw new Refused($"feature '{f.Feature}' was measured with {f.Method}, but the model's policy tests it with {test.Method}");
        test ??= new DriftTest(f.Method, DriftTest.IsPValue(f.Method) ? DriftPolicy.PValue : DriftPolicy.Distance);
        return new FeatureJudgement(f.Feature, f.Role, f.Method, f.Score, test.Threshold, test.Drifts(f.Score), f.Samples);
    }

    /// <summary>The fact's shape, checked before anything is decided on it: an agent's report is input like any other.</summary>
    private static IReadOnlyList<FeatureScore> Validated(DriftMeasured c, DateTimeOffset now)
    {
        Guard.Name("endpoint", c.Endpoint);
        Guard.Name("modelName", c.ModelName);
        if (c.Version < 1) throw new InvalidField("version", "must be ≥ 1");
        if (c.WindowStart >= c.WindowEnd) throw new InvalidField("windowEnd", "must be after windowStart");
        if (c.WindowEnd > now + ClockSkew) throw new InvalidField("windowEnd", "is in the future");
        if (c.Samples < 1) throw new InvalidField("samples", "must be ≥ 1");
        if (c.Features is not { Count: > 0 and <= MaxFeatures } features)
            throw new InvalidField("features", $"must hold 1 to {MaxFeatures} features");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < features.Count; i++)
        {
            var f = features[i] ?? throw new InvalidField($"features[{i}]", "is required");
            if (f.Feature is not { Length: <= MaxFeatureName } || !names.Add(Guard.Key($"features[{i}].feature", f.Feature)))
                throw new InvalidField($"features[{i}].feature", $"must be a unique name of at most {MaxFeatureName} characters");
            if (!Enum.IsDefined(f.Role)) throw new InvalidField($"features[{i}].role", "must be Input or Output");
            if (f.Method == DriftMethod.Auto || !Enum.IsDefined(f.Method))
                throw new InvalidField($"features[{i}].method", "must be the method used (KolmogorovSmirnov, ChiSquared, Wasserstein, JensenShannon or Psi)");
            if (!InRange(f.Method, f.Score))
                throw new InvalidField($"features[{i}].score", $"must be a finite {(DriftTest.IsPValue(f.Method) ? "p-value within 0..1" : f.Method == DriftMethod.JensenShannon ? "distance within 0..1" : "distance ≥ 0")}");
            if (f.Samples < 1) throw new InvalidField($"features[{i}].samples", "must be ≥ 1");
        }
        return features;
    }

    private static bool InRange(DriftMethod method, double score) =>
        double.IsFinite(score) && score >= 0 && (method is not (DriftMethod.KolmogorovSmirnov or DriftMethod.ChiSquared or DriftMethod.JensenShannon) || score <= 1);
}
