using EventMlOps.Serving.Loading;

namespace EventMlOps.Serving.Routing;

/// <summary>A loaded version and the share of traffic it takes (0: only requests that pin it).</summary>
public sealed record WeightedVersion(ServedModel Model, int Weight);

/// <summary>What serves at one desired-state revision. Immutable: a new revision is a new table, swapped in whole.</summary>
public sealed record RoutingTable(long Revision, IReadOnlyList<WeightedVersion> Routes)
{
    public static readonly RoutingTable Empty = new(0, []);

    /// <summary>A weighted random choice among the routes that match (weight 0 never chosen; null when none has weight).</summary>
    public ServedModel? Choose(Func<ServedModel, bool> match)
    {
        var total = 0;
        foreach (var r in Routes)
            if (match(r.Model)) total += r.Weight;
        if (total <= 0) return null;
        var ticket = Random.Shared.Next(total);
        foreach (var r in Routes)
        {
            if (!match(r.Model)) continue;
            ticket -= r.Weight;
            if (ticket < 0) return r.Model;
        }
        throw new InvalidOperationException("unreachable: the ticket lies below the total weight");
    }

    public ServedModel? Find(string name, int version) => Routes.FirstOrDefault(r => r.Model.Name == name && r.Model.Version == version)?.Model;

    public bool Has(string name) => Routes.Any(r => r.Model.Name == name);
}

/// <summary>A request's hold on the version that serves it; disposing it lets a retired version drain.</summary>
public readonly struct Lease(ServedModel model) : IDisposable
{
    public ServedModel Model { get; } = model;
    public void Dispose() => Model.Release();
}

/// <summary>The current routing table, swapped by reference; requests take a <see cref="Lease"/> on what it chose.</summary>
public sealed class Router
{
    private RoutingTable _table = RoutingTable.Empty;

    public RoutingTable Current => Volatile.Read(ref _table);

    /// <summary>Installs <paramref name="next"/> and returns the table it replaced.</summary>
    public RoutingTable Swap(RoutingTable next) => Interlocked.Exchange(ref _table, next);

    /// <summary>Chooses with <paramref name="choose"/> on the current table and holds the choice. A version retired
    /// between the choice and the hold is already out of the newer table, so choosing again terminates.</summary>
    public Lease? Acquire(Func<RoutingTable, ServedModel?> choose)
    {
        while (choose(Current) is { } model)
            if (model.TryAcquire())
                return new Lease(model);
        return null;
    }
}
