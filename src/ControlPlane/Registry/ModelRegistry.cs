using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Registry;

public static class RegistryQueries
{
    public static async Task<IReadOnlyList<RegisteredModel>> ListAsync(IQuerySession session, AsOf? asOf, int? limit, int? offset, CancellationToken ct)
    {
        var names = await session.Query<ModelVersion>().Select(v => v.ModelName).Distinct().ToListAsync(ct);
        var models = new List<RegisteredModel>();
        foreach (var name in names.Order().Skip(Math.Max(0, offset ?? 0)).Take(Paging.Limit(limit)))
            if (await GetAsync(session, name, asOf, ct) is { Versions.Count: > 0 } model)
                models.Add(model);
        return models;
    }

    public static async Task<RegisteredModel?> GetAsync(IQuerySession session, string name, AsOf? asOf, CancellationToken ct)
    {
        var current = await session.Query<ModelVersion>().Where(v => v.ModelName == name).OrderBy(v => v.Version).ToListAsync(ct);
        var versions = new List<ModelVersion>();
        foreach (var v in current)
        {
            var state = asOf is null ? v : await session.StateAsync<ModelVersion>(v.Id, asOf, ct);
            if (state is not null) versions.Add(state);
        }
        if (versions.Count == 0) return null;
        return new RegisteredModel(name, versions.Max(v => v.Version),
            versions.SelectMany(v => v.Aliases.Select(a => (a, v.Version))).ToDictionary(x => x.a, x => x.Version),
            [.. versions.Select(v => new VersionSummary(v.Version, v.Stage, v.Aliases, v.IsApproved, v.RegisteredBy, v.RegisteredAt, v.Metrics))],
            asOf?.ToString());
    }
}
