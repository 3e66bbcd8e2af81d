using EventMlOps.Contracts;
using EventMlOps.Contracts.Registry;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Training;
using JasperFx.Events;
using Marten;

namespace EventMlOps.ControlPlane.Registry;

/// <summary>What happens to a succeeded run: registered as its model's next version, left alone (auto-registration
/// off for the model), or blocked by a quality gate — with the reason recorded on the run.</summary>
public sealed record RegistrationPolicy(bool AutoRegisterByDefault, IReadOnlyDictionary<string, bool> AutoRegisterByModel, double MinAnomalyTpr,
    double MaxAnomalyFprOverTarget = RegistrationPolicy.DefaultMaxFprOverTarget)
{
    public const string Actor = "registration-policy";

    /// <summary>The realised false-positive rate a detector may reach, as a multiple of its target, before the gate refuses it.
    /// The trainer warns from 1.5×; on a short test part a sound threshold's realised rate wanders up to about that (0.8–1.5×
    /// measured on the generated fleet), so the gate refuses only a threshold that plainly did not hold.</summary>
    public const double DefaultMaxFprOverTarget = 3;

    /// <summary><c>Registry:AutoRegister</c> (default true), <c>Registry:Models:{model}:AutoRegister</c>,
    /// <c>Registry:Gates:AnomalyMinTpr</c> (default 0.8), <c>Registry:Gates:AnomalyMaxFprOverTarget</c> (default 3).</summary>
    public static RegistrationPolicy From(IConfiguration configuration) => new(
        configuration.GetValue("Registry:AutoRegister", true),
        configuration.GetSection("Registry:Models").GetChildren()
            .Where(m => m["AutoRegister"] is not null)
            .ToDictionary(m => m.Key, m => m.GetValue<bool>("AutoRegister")),
        configuration.GetValue("Registry:Gates:AnomalyMinTpr", 0.8),
        configuration.GetValue("Registry:Gates:AnomalyMaxFprOverTarget", DefaultMaxFprOverTarget));

    /// <summary>Register, leave alone, or block with a reason. Pure: the run's trainer kind picks the gate. A reproduction
    /// checks its original rather than making a new model: it is never registered by the policy (a person may).</summary>
    public Verdict Judge(TrainingRun run)
    {
        if (run.ReproducedFrom is { } original)
            return Blocked($"a reproduction of run {original:N} checks that run; it is not registered as a new version (register it by hand if wanted)");
        if (!AutoRegisterByModel.GetValueOrDefault(run.ModelName, AutoRegisterByDefault))
            return new Verdict(false, null);
        var m = run.Metrics ?? new Dictionary<string, double>();
        return run.TrainerKind switch
        {
            "recommender" when !m.ContainsKey("hr@10") || !m.ContainsKey("baseline_hr@10") =>
                Blocked("quality gate: the run reported no hr@10 and baseline_hr@10 to compare"),
            "recommender" when m["hr@10"] <= m["baseline_hr@10"] =>
                Blocked($"quality gate: hr@10 {m["hr@10"]:0.####} does not beat the popularity baseline {m["baseline_hr@10"]:0.####}"),
            "anomaly" when !m.TryGetValue("tpr", out var tpr) => Blocked("quality gate: the run reported no tpr"),
            "anomaly" when m["tpr"] < MinAnomalyTpr =>
                Blocked($"quality gate: tpr {m["tpr"]:0.####} at the target false-positive rate is below the floor {MinAnomalyTpr:0.##}"),
            "anomaly" when !m.ContainsKey("fpr_vs_target") =>
                Blocked("quality gate: the run reported no fpr_vs_target (its realised false-positive rate against the target)"),
            "anomaly" when m.ContainsKey("events_detected") && !m.ContainsKey("zscore_events_detected") =>
                Blocked("quality gate: the run reported detected events but no rolling z-score to compare them with"),
            "anomaly" when m["fpr_vs_target"] is var over && over > MaxAnomalyFprOverTarget =>
                Blocked($"quality gate: the false-positive rate on the test part is {over:0.##}× its target (at most {MaxAnomalyFprOverTarget:0.##}×): " +
                        "the threshold chosen on the validation part does not hold later"),
            "anomaly" when ZscoreDoesAsWell(m) is { } why => Blocked($"quality gate: a rolling z-score on the same data does as well — {why}"),
            _ => new Verdict(true, null),
        };

        static Verdict Blocked(string reason) => new(false, reason);
    }

    /// <summary>When the rolling z-score the trainer computes on the same split detects at least as many labelled events with
    /// no more false episodes a day, the detector adds nothing an operator would not get from it: why, in numbers; else null
    /// (also when the run reported no such comparison).</summary>
    private static string? ZscoreDoesAsWell(IReadOnlyDictionary<string, double> m) =>
        m.TryGetValue("events_detected", out var detected) && m.TryGetValue("zscore_events_detected", out var zDetected)
        && m.TryGetValue("false_episodes_per_day", out var falsePerDay) && m.TryGetValue("zscore_false_episodes_per_day", out var zFalsePerDay)
        && zDetected >= detected && zFalsePerDay <= falsePerDay
            ? $"it detects {zDetected:0} labelled events against the model's {detected:0}, with {zFalsePerDay:0.##} false episodes a day against {falsePerDay:0.##}"
            : null;

    public sealed record Verdict(bool Register, string? BlockedBecause);
}

/// <summary>Applies the policy when a run succeeds (Marten subscription, strict order). Idempotent under replay:
/// a run already registered or blocked is left alone.</summary>
public static class RegistrationPolicyHandler
{
    public static async Task Handle(IEvent<TrainingRunSucceeded> e, IDocumentSession session, RegistrationPolicy policy, TimeProvider time)
    {
        var run = await session.LoadAsync<TrainingRun>(StreamKeys.Run(e.Data.RunId));
        if (run is null || run.RegisteredVersion is not null || run.RegistrationBlocked is not null)
            return;
        session.LastModifiedBy = RegistrationPolicy.Actor;
        session.CorrelationId = e.CorrelationId;
        session.CausationId = e.Id.ToString();
        var verdict = policy.Judge(run);
        if (verdict.Register)
            await RegisterModelVersionHandler.RegisterAsync(session, new RegisterModelVersion(Guid.NewGuid(), run.ModelName, run.RunId),
                RegistrationPolicy.Actor, time.GetUtcNow());
        else if (verdict.BlockedBecause is { } reason)
            session.Events.Append(run.Id, new TrainingRunRegistrationBlocked(run.RunId, run.ModelName, reason, time.GetUtcNow()));
    }
}
