using EventMlOps.ControlPlane.Endpoints;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>A drift alarm concerns a version as it serves on an endpoint: when an endpoint decision ends that version's
/// serving (a promotion of another, a canary ended, a rollback, the endpoint's deletion), its open alarm is cleared by
/// the same decision, in the same append — no window of it will be measured again to clear it.</summary>
public static class EndingAlarms
{
    /// <param name="events">What the endpoint decision decided on <paramref name="before"/>.</param>
    /// <returns>Those events, followed by a <see cref="DriftCleared"/> for each open alarm of a version they end serving.</returns>
    public static object[] After(EndpointState? before, object[] events, string actor, DateTimeOffset now)
    {
        if (before?.Drift?.Any(d => d.Alarm is not null) != true || events.Length == 0) return events;
        var after = events.Aggregate(before, ServingAfter);
        // Served: taking traffic, or still in its serving period (the version an immediate rollout replaces, until promoted).
        var serving = after.Traffic.Select(t => t.Version).Concat(after.Served.Where(p => p.To is null).Select(p => p.Version)).ToHashSet();
        var cleared = before.Drift.Where(d => d.Alarm is not null && !serving.Contains(d.Version)).Select(d =>
            new DriftCleared(before.Name, before.ModelName, d.Version, d.Alarm!.Value, d.LastWindowEnd,
                $"{before.ModelName}@{d.Version} no longer serves on '{before.Name}'", actor, now));
        return [.. events, .. cleared];
    }

    /// <summary>The events that end a version's serving period, applied as the stream will apply them.</summary>
    private static EndpointState ServingAfter(EndpointState state, object e) => e switch
    {
        RolloutPromoted x => state.Apply(x),
        RolloutAborted x => state.Apply(x),
        CanaryRolledBack x => state.Apply(x),
        RolloutFailed x => state.Apply(x),
        EndpointRolledBack x => state.Apply(x),
        EndpointDeleted x => state.Apply(x),
        _ => state,
    };
}
