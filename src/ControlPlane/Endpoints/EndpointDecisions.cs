using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Registry;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>Pure decisions over an endpoint: one rollout at a time, never an archived version; a deleted endpoint
/// takes no command but its creation again, while the agents' facts about it are still recorded.</summary>
public static class EndpointDecisions
{
    /// <param name="modelExists">Whether the model has a registered version: an endpoint for an unknown model is refused.</param>
    public static object[] Create(EndpointState? current, bool modelExists, CreateEndpoint c, string actor, DateTimeOffset now)
    {
        Guard.Name("name", c.Name);
        Guard.Name("modelName", c.ModelName);
        if (!modelExists) throw new NotFound("model", c.ModelName);
        if (c.MinReplicas < 0) throw new InvalidField("minReplicas", "must be ≥ 0");
        if (c.MaxReplicas < Math.Max(1, c.MinReplicas)) throw new InvalidField("maxReplicas", "must be ≥ 1 and ≥ minReplicas");
        if (current is { Deleted: false })
            throw new Refused($"endpoint '{c.Name}' already exists (serving model '{current.ModelName}')");
        return [new EndpointCreated(c.Name, c.ModelName, c.MinReplicas, c.MaxReplicas, actor, now, c.AllowUnapproved)];
    }

    public static object[] RollOut(EndpointState? endpoint, ModelVersion? version, RollOut c, Guid rolloutId, string actor, DateTimeOffset now)
    {
        var e = Live(endpoint, c.Endpoint);
        var strategy = Strategy(c.Strategy);
        var v = version ?? throw new NotFound("model version", $"{e.ModelName}@{c.Version}");
        if (v.Stage == ModelStage.Archived)
            throw new Refused($"{v.ModelName}@{v.Version} is archived and cannot be rolled out");
        if (!v.IsApproved && !e.AllowUnapproved)
            throw new Refused($"four-eyes rule: {v.ModelName}@{v.Version} has no approval by someone other than its authors; approve it first "
                              + "(or create the endpoint with allowUnapproved for non-production use)");
        if (e.Rollout is { } inFlight)
            throw new Refused($"endpoint '{e.Name}' already has rollout {inFlight.RolloutId:N} of version {inFlight.Version} in progress; promote or abort it first");
        if (e.Traffic.Count == 1 && e.Traffic[0].Version == v.Version)
            throw new Refused($"endpoint '{e.Name}' already serves {v.ModelName}@{v.Version}");
        if (strategy.Kind == RolloutKind.Canary && e.Traffic.Count == 0)
            throw new Refused($"endpoint '{e.Name}' serves nothing yet: a canary needs a stable version to compare against; roll out immediately first");
        // An immediate rollout is promoted when a replica reports the version loaded (RecordObserved), not before.
        return [new RolloutStarted(e.Name, rolloutId, v.ModelName, v.Version, v.ArtifactUri, v.ArtifactSha256, strategy.Kind,
            strategy.Steps, e.StableVersion, actor, now, strategy.Analysis)];
    }

    /// <summary>A rollout strategy as every rollout takes it — the one check for a rollout and for a retraining policy that
    /// names one: a canary's weights rise within 1..99, its analysis limits hold. A canary carries the limits in force (the
    /// defaults when none are given), so that a later change of the defaults does not change its verdicts.</summary>
    public static RolloutStrategy Strategy(RolloutStrategy? strategy, string field = "strategy")
    {
        var s = strategy ?? RolloutStrategy.Immediate;
        if (!Enum.IsDefined(s.Kind))
            throw new InvalidField($"{field}.kind", "must be Immediate or Canary");
        if (s.Kind == RolloutKind.Immediate)
            return RolloutStrategy.Immediate;
        if (s.Steps is not { Count: > 0 })
            throw new InvalidField($"{field}.steps", "a canary needs at least one step");
        for (var i = 0; i < s.Steps.Count; i++)
        {
            var step = s.Steps[i];
            if (step.Weight is < 1 or > 99 || (i > 0 && step.Weight <= s.Steps[i - 1].Weight))
                throw new InvalidField($"{field}.steps[{i}].weight", "canary weights must rise strictly within 1..99");
            if (step.BakeSeconds < 0)
                throw new InvalidField($"{field}.steps[{i}].bakeSeconds", "must be ≥ 0");
        }
        return s with { Analysis = CanaryAnalysis.Validated(s.Analysis ?? RolloutAnalysis.Default, field) };
    }

    /// <summary>Moves a healthy canary to its next step; past the last step it is promoted.</summary>
    public static object[] Advance(EndpointState? endpoint, AdvanceRollout c, string actor, DateTimeOffset now)
    {
        var r = InFlight(endpoint, c.Endpoint);
        if (r.RolloutId != c.RolloutId)
            return []; // a stale order for a rollout that already ended
        return [Next(r, c.Endpoint, actor, now)];
    }

    /// <summary>Judges the agent's measurement of the canary's current step: no verdict before enough requests; a breach
    /// rolls the canary back at once; a healthy step advances (or, after the last, promotes) once its bake time has
    /// passed. Every verdict is recorded. A measurement of another step or rollout is stale and changes nothing.</summary>
    public static object[] Analyze(EndpointState? endpoint, RolloutStepReport c, string actor, DateTimeOffset now)
    {
        var e = Existing(endpoint, c.Endpoint);
        if (e.Rollout is not { Analysis: { } analysis } r || r.RolloutId != c.RolloutId || r.Step != c.Step)
            return [];
        RolloutAnalysisRecorded Verdict(string verdict, string detail) =>
            new(e.Name, r.RolloutId, r.Step, c.Canary, c.Stable, verdict, detail, now);

        if (c.Canary.Requests < analysis.MinRequests)
        {
            if (analysis.ProgressDeadline is > 0 and var deadline && e.IdleAnalyses + 1 >= deadline)
            {
                var stalled = $"no progress: {c.Canary.Requests} of {analysis.MinRequests} canary requests after {deadline} measurements " +
                              $"(about {deadline * analysis.IntervalSeconds} s) at step {r.Step + 1}; a canary without traffic cannot be judged";
                return [Verdict(CanaryAnalysis.Stalled, stalled), new CanaryRolledBack(e.Name, r.RolloutId, r.Version, stalled, actor, now)];
            }
            return [Verdict(CanaryAnalysis.TooFewSamples, $"{c.Canary.Requests} of {analysis.MinRequests} canary requests")];
        }
        if (CanaryAnalysis.BreachOf(analysis, c.Canary, c.Stable) is { } breach)
            return [Verdict(CanaryAnalysis.Breach, breach), new CanaryRolledBack(e.Name, r.RolloutId, r.Version, breach, actor, now)];
        var bake = r.Steps[r.Step].BakeSeconds;
        var baked = (now - r.StepStartedAt).TotalSeconds;
        if (baked < bake)
            return [Verdict(CanaryAnalysis.Baking, $"baked {(int)baked} of {bake} s")];
        var next = Next(r, e.Name, actor, now);
        return [Verdict(CanaryAnalysis.Healthy, next is RolloutStepAdvanced a ? $"baked {bake} s: advancing to {a.CanaryWeight} %" : $"baked {bake} s: promoting"), next];
    }

    /// <summary>The canary's next step, or its promotion after the last.</summary>
    private static object Next(RolloutInProgress r, string endpoint, string actor, DateTimeOffset now) =>
        r.Step + 1 < r.Steps.Count
            ? new RolloutStepAdvanced(endpoint, r.RolloutId, r.Step + 1, r.Steps[r.Step + 1].Weight, now)
            : new RolloutPromoted(endpoint, r.RolloutId, r.Version, actor, now);

    public static object[] Promote(EndpointState? endpoint, PromoteRollout c, string actor, DateTimeOffset now)
    {
        var r = InFlight(endpoint, c.Endpoint);
        return [new RolloutPromoted(c.Endpoint, r.RolloutId, r.Version, actor, now)];
    }

    public static object[] Abort(EndpointState? endpoint, AbortRollout c, string actor, DateTimeOffset now)
    {
        var r = InFlight(endpoint, c.Endpoint);
        return [new RolloutAborted(c.Endpoint, r.RolloutId, r.Version, Guard.Text("reason", Guard.Required("reason", c.Reason))!, actor, now)];
    }

    /// <summary>Stops serving: an in-flight rollout ends, traffic empties and the replicas are to stop.</summary>
    public static object[] Delete(EndpointState? endpoint, DeleteEndpoint c, string actor, DateTimeOffset now)
    {
        var e = Live(endpoint, c.Name);
        return [new EndpointDeleted(e.Name, Guard.Required("reason", c.Reason), actor, now)];
    }

    /// <summary>Returns to the version that served before the current one.</summary>
    public static object[] Rollback(EndpointState? endpoint, ModelVersion? previous, Rollback c, string actor, DateTimeOffset now)
    {
        var e = Live(endpoint, c.Endpoint);
        if (e.Rollout is { } r)
            throw new Refused($"rollout {r.RolloutId:N} is in progress on '{e.Name}'; abort it instead of rolling back");
        var current = e.Traffic.SingleOrDefault()?.Version
            ?? throw new Refused($"endpoint '{e.Name}' serves nothing; there is nothing to roll back");
        if (previous is null)
            throw new Refused($"endpoint '{e.Name}' has no earlier version to roll back to");
        if (previous.Stage == ModelStage.Archived)
            throw new Refused($"the previous version {previous.ModelName}@{previous.Version} is archived");
        return [new EndpointRolledBack(e.Name, current, previous.Version, previous.ArtifactUri, previous.ArtifactSha256, Guard.Required("reason", c.Reason), actor, now)];
    }

    /// <summary>The version served before the current one, from the serving history.</summary>
    public static int? PreviousVersion(EndpointState endpoint)
    {
        var current = endpoint.Traffic.SingleOrDefault()?.Version;
        return endpoint.Served.Where(p => p.To is not null && p.Version != current).OrderByDescending(p => p.To).FirstOrDefault()?.Version;
    }

    /// <summary>Records what a replica serves, and settles the rollout in flight by it: once a replica reports the revision
    /// the rollout asked for, an immediate rollout whose version it loaded is promoted, and a rollout (immediate or canary)
    /// whose version it could not load fails — what served before serves again.</summary>
    public static object[] RecordObserved(EndpointState? endpoint, EndpointStatusReport c, string actor, DateTimeOffset now)
    {
        var e = Existing(endpoint, c.Endpoint);
        if (c.Revision < e.ObservedRevision) return [];
        var observed = new EndpointStateObserved(e.Name, c.Revision, c.Ready, Guard.Text("message", c.Message), now, c.Loaded);
        if (e.Rollout is not { } r || c.Revision < r.Revision) return [observed];
        var loaded = c.Loaded?.Any(l => l.Version == r.Version && l.Sha256 == r.ArtifactSha256 && (l.Weight > 0 || r.Kind == RolloutKind.Canary)) == true;
        if (!loaded)
            return [observed, new RolloutFailed(e.Name, r.RolloutId, r.Version,
                $"{e.ModelName}@{r.Version} did not load on the replica" + (c.Message is { Length: > 0 } m ? $": {(m.Length > 500 ? m[..500] + "…" : m)}" : ""), actor, now)];
        return r.Kind == RolloutKind.Immediate ? [observed, new RolloutPromoted(e.Name, r.RolloutId, r.Version, actor, now)] : [observed];
    }

    /// <summary>Recorded after the endpoint's deletion too: its replicas stopping then is what deletion asks for.</summary>
    public static object[] RecordReplica(EndpointState? endpoint, ReplicaChangeReport c, DateTimeOffset now)
    {
        var e = Existing(endpoint, c.Endpoint);
        // A replica recorded running at that address is not started again: an agent that restarted reports what it finds
        // serving, which started before (recording it anew would reset its restarts and date its start wrongly).
        if (c.Change == ReplicaChange.Started && e.Replicas?.GetValueOrDefault(c.Replica ?? "") is { LastChange: ReplicaChange.Started or ReplicaChange.Restarted } known
            && known.Url == c.Url)
            return [];
        return [new EndpointReplicaChanged(e.Name, Guard.Required("replica", c.Replica), c.Change, Guard.Required("runtime", c.Runtime), c.Url,
            Guard.Text("reason", c.Reason, ReplicaChangeReport.MaxReasonLength), c.ExitCode, now)];
    }

    private static EndpointState Existing(EndpointState? endpoint, string name) => endpoint ?? throw new NotFound("endpoint", name);

    /// <summary>An endpoint that exists and was not deleted: the only kind that takes commands.</summary>
    private static EndpointState Live(EndpointState? endpoint, string name)
    {
        var e = Existing(endpoint, name);
        return e.DeletedAt is { } at ? throw new Refused($"endpoint '{name}' was deleted at {at:u}; create it again to use the name") : e;
    }

    private static RolloutInProgress InFlight(EndpointState? endpoint, string name) =>
        Live(endpoint, name).Rollout ?? throw new Refused($"endpoint '{name}' has no rollout in progress");
}
