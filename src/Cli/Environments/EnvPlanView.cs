using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Environments;

/// <summary>A rebuild plan as text: the history range, what will run where, and each artifact with its check.</summary>
public static class EnvPlanView
{
    public static void Print(TextWriter o, EnvironmentPlan plan, Uri source, string home, IReadOnlyList<(PlannedArtifact Artifact, string? Problem)> checks)
    {
        o.WriteLine($"history    events 1..{plan.UntilSequence} of {source} (the last at {plan.UntilTime:u}; the source is at {plan.HeadSequence})");
        o.WriteLine($"target     {home}: a control plane with its own PostgreSQL, holding that history; its agents (local processes)");
        foreach (var e in plan.Endpoints)
        {
            var rollout = e.Rollout is { } r ? $"; {r.Kind} rollout of v{r.Version} at step {r.Step + 1} of {r.Steps.Count}, started by {r.StartedBy}" : "";
            o.WriteLine($"endpoint   {e.Name} ({e.ModelName}, {e.MinReplicas}..{e.MaxReplicas} replicas): {Split(e.Versions.Select(v => (v.Version, v.Weight)))}{rollout}");
            foreach (var v in e.Versions)
                o.WriteLine($"             v{v.Version} {v.Weight,3} %  stage {v.Stage}, run {v.RunId}, dataset {v.DatasetId}");
        }
        if (plan.Endpoints.Count == 0) o.WriteLine("endpoint   none existed then: the control plane and agents start with the history only");
        o.WriteLine($"artifacts  {checks.Count}, each read and checked against its recorded sha256 in the source's store:");
        foreach (var (a, problem) in checks)
            o.WriteLine($"  {(problem is null ? "ok     " : "FAILED ")} {a.Kind,-8} {a.Of,-24} sha256 {a.Sha256[..12]}…  {a.Uri}{(problem is null ? "" : $"  — {problem}")}");
    }

    /// <summary>"v1 90 %, v2 10 %" (versions kept only as a fallback left out).</summary>
    public static string Split(IEnumerable<(int Version, int Weight)> traffic) =>
        string.Join(", ", traffic.Where(t => t.Weight > 0).Select(t => $"v{t.Version} {t.Weight} %"));
}
