using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Registry;

/// <summary>The registry as models: composed from the model versions' inline snapshots (indexed by model name) — two
/// queries for a page of models now, whatever its size — or, as of a point in history, from each version's stream
/// aggregated live to that point.</summary>
public static class RegistryQueries
{
    public static async Task<IReadOnlyList<RegisteredModel>> ListAsync(IQuerySession session, AsOf? asOf, int? limit, int? offset, CancellationToken ct)
    {
        var names = (await session.Query<ModelVersion>().Select(v => v.ModelName).Distinct().ToListAsync(ct))
            .Order(StringComparer.Ordinal).Skip(Math.Max(0, offset ?? 0)).Take(Paging.Limit(limit)).ToList();
        if (asOf is not null)
        {
            var models = new List<RegisteredModel>();
            foreach (var name in names)
                if (await GetAsync(session, name, asOf, ct) is { } model) models.Add(model);
            return models;
        }
        var versions = await session.Query<ModelVersion>().Where(v => names.Contains(v.ModelName)).ToListAsync(ct);
        return [.. versions.GroupBy(v => v.ModelName).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Model(g.Key, [.. g], null))];
    }

    public static async Task<RegisteredModel?> GetAsync(IQuerySession session, string name, AsOf? asOf, CancellationToken ct)
    {
        var current = await session.Query<ModelVersion>().Where(v => v.ModelName == name).ToListAsync(ct);
        var versions = new List<ModelVersion>();
        foreach (var v in current)
        {
            var state = asOf is null ? v : await session.StateAsync<ModelVersion>(v.Id, asOf, ct);
            if (state is not null) versions.Add(state);
        }
        return versions.Count == 0 ? null : Model(name, versions, asOf);
    }

    private static RegisteredModel Model(string name, IReadOnlyList<ModelVersion> versions, AsOf? asOf)
    {
        var ordered = versions.OrderBy(v => v.Version).ToList();
        return new RegisteredModel(name, ordered[^1].Version,
            ordered.SelectMany(v => v.Aliases.Select(a => (a, v.Version))).ToDictionary(x => x.a, x => x.Version),
            [.. ordered.Select(v => new VersionSummary(v.Version, v.Stage, v.Aliases, v.IsApproved, v.RegisteredBy, v.RegisteredAt, v.Metrics))],
            asOf?.ToString());
    }
}
