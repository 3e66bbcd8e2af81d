using EventMlOps.Bench;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Bench.Seeding;

namespace EventMlOps.ControlPlane.Bench.Measuring;

/// <summary>
/// Latency of the lineage queries, one client (a person or a CI job asking), over random seeded model
/// versions and endpoints: now (from the inline snapshots) and as of a random earlier point, given as a
/// timestamp or as a global sequence number (Marten aggregates the streams up to it). The floor is
/// <c>GET /health/live</c> over the same connection; one snapshot read shows the cost of one document.
/// </summary>
public static class QueryLatency
{
    public const string Floor = "GET /health/live (floor)";

    private sealed record Target(string Path, DateTimeOffset FirstAt, long FirstSeq);

    public static async Task<IReadOnlyList<Measurement>> RunAsync(BenchHost host, string connectionString, BenchOptions options, TextWriter output, CancellationToken ct)
    {
        var schema = BenchDatabase.Schema;
        var versions = await TargetsAsync(connectionString, schema, "model:%", ct);
        var endpoints = await TargetsAsync(connectionString, schema, "endpoint:%", ct);
        if (versions.Count == 0 || endpoints.Count == 0)
            throw new InvalidOperationException("the store holds no model versions or endpoints to query");
        var maxSeq = await Sql.ScalarAsync<long>(connectionString, $"select max(seq_id) from {schema}.mt_events", ct);
        output.WriteLine($"  sampled {versions.Count:N0} model versions and {endpoints.Count:N0} endpoints; asOf drawn between each stream's first event and now / seq {maxSeq:N0}");

        using var anonymous = host.Client();
        using var viewer = host.Client("victor", Roles.Viewer);
        var rng = new Random(42);
        var now = DateTimeOffset.UtcNow;
        string AsOfTime(Target t) => Uri.EscapeDataString((t.FirstAt + (now - t.FirstAt) * rng.NextDouble()).ToString("O"));
        string AsOfSeq(Target t) => (t.FirstSeq + (long)((maxSeq - t.FirstSeq) * rng.NextDouble())).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Target Pick(List<Target> from) => from[rng.Next(from.Count)];

        var queries = new (string Name, HttpClient Client, Func<string> Route)[]
        {
            (Floor, anonymous, () => "/health/live"),
            ("GET model version (1 snapshot)", viewer, () => "/api/models/" + Pick(versions).Path.Replace("/", "/versions/")),
            ("lineage model version, now", viewer, () => $"/api/lineage/models/{Pick(versions).Path}"),
            ("lineage endpoint, now", viewer, () => $"/api/lineage/endpoints/{Pick(endpoints).Path}"),
            ("lineage model version, asOf=time", viewer, () => { var t = Pick(versions); return $"/api/lineage/models/{t.Path}?asOf={AsOfTime(t)}"; }),
            ("lineage model version, asOf=seq", viewer, () => { var t = Pick(versions); return $"/api/lineage/models/{t.Path}?asOf={AsOfSeq(t)}"; }),
            ("lineage endpoint, asOf=time", viewer, () => { var t = Pick(endpoints); return $"/api/lineage/endpoints/{t.Path}?asOf={AsOfTime(t)}"; }),
            ("lineage endpoint, asOf=seq", viewer, () => { var t = Pick(endpoints); return $"/api/lineage/endpoints/{t.Path}?asOf={AsOfSeq(t)}"; }),
        };

        var results = new List<Measurement>();
        foreach (var (name, client, route) in queries)
        {
            var m = await Load.RunAsync(name, "", 1, TimeSpan.FromSeconds(options.Seconds), (_, token) => BenchHost.GetAsync(client, route(), token), ct);
            output.WriteLine($"  {name,-36} n {m.Latency.TotalCount,7:N0}  p50 {m.P50Ms,7:N2} ms  p99 {m.P99Ms,7:N2} ms  max {m.MaxMs,7:N2} ms  errors {m.Errors}");
            results.Add(m);
        }
        return results;
    }

    /// <summary>A random sample of seeded streams of one kind, with the time and sequence of their first event;
    /// the path is the part of the route after the kind ("{model}/{version}" or "{endpoint}").</summary>
    private static async Task<List<Target>> TargetsAsync(string connectionString, string schema, string like, CancellationToken ct)
    {
        var rows = await Sql.RowsAsync(connectionString, $"""
            select s.id, e.timestamp, e.seq_id
            from (select id from {schema}.mt_streams where id like @like order by random() limit 5000) s
            join {schema}.mt_events e on e.stream_id = s.id and e.version = 1
            """, ct, ("like", like));
        return [.. rows.Select(r =>
        {
            var id = (string)r[0];
            var path = id.StartsWith("model:", StringComparison.Ordinal) ? id["model:".Length..].Replace('@', '/') : id["endpoint:".Length..];
            return new Target(path, new DateTimeOffset(DateTime.SpecifyKind((DateTime)r[1], DateTimeKind.Utc)), (long)r[2]);
        })];
    }
}
