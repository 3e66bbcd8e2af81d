using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Agents.Serving;

/// <summary>Where endpoints are served — processes on this machine (<see cref="LocalServingRuntime"/>) or, later, a
/// Kubernetes Deployment per endpoint. It owns endpoints, not jobs: the rollout handler asks it what an endpoint has
/// (<see cref="ObserveAsync"/>), lets <see cref="ServingPlan"/> decide, and applies that. Replicas converge to the
/// endpoint's desired versions and weights by themselves (they poll the control plane); the runtime keeps the number
/// of them, keeps them alive, and remembers on its own objects the revision it last applied, so that an agent that
/// restarts still ignores an older order.</summary>
public interface IServingRuntime
{
    /// <summary>What replicas report as their runtime (<c>local</c>, <c>kubernetes</c>).</summary>
    string Kind { get; }

    /// <summary>The most replicas this runtime runs for one endpoint (the plan never asks for more, and says so).</summary>
    int MaxReplicasPerEndpoint { get; }

    /// <summary>The endpoints it runs replicas for (not those deleted).</summary>
    Task<IReadOnlyList<string>> EndpointsAsync(CancellationToken ct);

    /// <summary>The endpoint as the runtime holds it; null when it holds nothing of it.</summary>
    Task<ObservedEndpoint?> ObserveAsync(string endpoint, CancellationToken ct);

    /// <summary>Makes the endpoint run <paramref name="replicas"/> replicas (creating or restarting them, or only
    /// recording the revision when they run) and records <paramref name="desired"/>'s revision as applied.</summary>
    /// <exception cref="ServingUnavailable">No replica could be started.</exception>
    Task ApplyAsync(ApplyEndpoint desired, int replicas, CancellationToken ct);

    /// <summary>Stops the endpoint's replicas for good, keeping the revision of its deletion (so that no older order
    /// brings it back), and reports it.</summary>
    Task DeleteAsync(string endpoint, long revision, string reason, CancellationToken ct);
}

/// <summary>A replica that runs: where it answers, and since when (a restart makes it another replica).</summary>
public sealed record RunningReplica(Uri Url, DateTimeOffset? StartedAt);

/// <param name="AppliedRevision">The last revision applied (or deleted at), kept on the runtime's own objects.</param>
/// <param name="Deleted">The endpoint was deleted at <paramref name="AppliedRevision"/>; nothing of it runs.</param>
/// <param name="Replicas">Its replicas that run now.</param>
public sealed record ObservedEndpoint(string Endpoint, long AppliedRevision, bool Deleted, IReadOnlyList<RunningReplica> Replicas);

/// <summary>No replica could be started for an endpoint (no model server configured, or it never answered).</summary>
public sealed class ServingUnavailable(string reason) : Exception(reason);
