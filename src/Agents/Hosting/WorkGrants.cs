using System.Collections.Concurrent;
using EventMlOps.Contracts;

namespace EventMlOps.Agents.Hosting;

/// <summary>The grants of the work orders this agent holds, by scope (<c>run:{id}</c>, <c>endpoint:{name}</c>), kept in
/// memory only: every fact about a run or endpoint carries its grant (<see cref="BusHeaders.Grant"/>), and an agent that
/// restarted asks the control plane to send its orders again (<c>RequestWorkOrders</c>).</summary>
public sealed class WorkGrants(TimeProvider time)
{
    /// <summary>An endpoint's grant is renewed well before it expires (the control plane issues them for 7 days).</summary>
    public static readonly TimeSpan RenewAfter = TimeSpan.FromDays(1);

    private readonly ConcurrentDictionary<string, (string Grant, DateTimeOffset Received)> _grants = new();

    public static string Run(Guid runId) => $"run:{runId:N}";

    public static string Endpoint(string name) => $"endpoint:{name}";

    public void Hold(string scope, string? grant)
    {
        if (grant is { Length: > 0 }) _grants[scope] = (grant, time.GetUtcNow());
    }

    public string? For(string scope) => _grants.TryGetValue(scope, out var held) ? held.Grant : null;

    /// <summary>Whether the scope has no grant, or one old enough to ask for a fresh order.</summary>
    public bool Needs(string scope) => !_grants.TryGetValue(scope, out var held) || time.GetUtcNow() - held.Received > RenewAfter;

    public void Drop(string scope) => _grants.TryRemove(scope, out _);

    /// <summary>The scope of the work a fact is about, or null for a fact about none.</summary>
    public static string? ScopeOf(object? message) => message switch
    {
        IRunFact f => Run(f.RunId),
        IEndpointFact f => Endpoint(f.Endpoint),
        _ => null,
    };
}
