using System.Text.Json;
using EventMlOps.Contracts.Views;
using Marten;
using Npgsql;

namespace EventMlOps.ControlPlane.History;

/// <summary>
/// Compares every live document with its rebuild in a <see cref="ScratchStore"/>: PostgreSQL compares the JSON (as
/// <c>jsonb</c>, so key order and number spelling do not count), and each document that differs is reported by type, id and
/// the paths of the fields that differ — never their values. Documents a command wrote while the rebuild ran are not compared:
/// they hold events the rebuild does not.
/// </summary>
public static class ProjectionVerification
{
    /// <summary>The differences listed; all are counted.</summary>
    public const int Listed = 100;

    private const int MaxFields = 20, MaxText = 200;

    internal static async Task<Verification> CompareAsync(ScratchStore scratch, IDocumentStore store, CancellationToken ct)
    {
        await using var conn = await scratch.OpenAsync(ct);
        long compared = 0, meanwhile = 0, differing = 0;
        var differences = new List<DocumentDifference>();
        foreach (var p in scratch.Projections)
        {
            var table = ScratchStore.Table(store, p.Document);
            var pairs = $"""
                with touched as (select distinct id from {scratch.Touched(table)} t),
                pairs as (select coalesce(l.id, r.id) as id, l.data as live, r.data as rebuilt
                          from {scratch.LiveSchema}.{table} l full join {scratch.Schema}.{table} r on r.id = l.id)
                """;
            await using (var counts = new NpgsqlCommand($"""
                {pairs}
                select count(*) filter (where id not in (select id from touched)),
                       count(*) filter (where id in (select id from touched)),
                       count(*) filter (where id not in (select id from touched) and live is distinct from rebuilt)
                from pairs
                """, conn) { CommandTimeout = 0 })
            await using (var reader = await counts.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                compared += reader.GetInt64(0);
                meanwhile += reader.GetInt64(1);
                differing += reader.GetInt64(2);
            }
            if (differences.Count >= Listed) continue;
            await using var list = new NpgsqlCommand($"""
                {pairs}
                select id::text, live::text, rebuilt::text from pairs
                where id not in (select id from touched) and live is distinct from rebuilt
                order by id limit {Listed - differences.Count}
                """, conn) { CommandTimeout = 0 };
            await using var rows = await list.ExecuteReaderAsync(ct);
            while (await rows.ReadAsync(ct))
                differences.Add(Difference(p.Document.Name, rows.GetString(0),
                    rows.IsDBNull(1) ? null : rows.GetString(1), rows.IsDBNull(2) ? null : rows.GetString(2)));
        }
        return new Verification(compared, meanwhile, differing, differences);
    }

    /// <summary>One difference: the document is missing from the store, unexpected in it, or changed in these fields.</summary>
    public static DocumentDifference Difference(string document, string id, string? live, string? rebuilt)
    {
        var shownId = Shorten(id);
        if (live is null) return new(document, shownId, "missing", []);
        if (rebuilt is null) return new(document, shownId, "unexpected", []);
        using var l = JsonDocument.Parse(live);
        using var r = JsonDocument.Parse(rebuilt);
        var fields = new List<string>();
        Compare(l.RootElement, r.RootElement, "", fields);
        return new(document, shownId, "changed", [.. fields.Take(MaxFields).Select(Shorten)]);
    }

    /// <summary>Objects are compared member by member, down to the leaves; anything else (arrays included) as a whole.</summary>
    private static void Compare(JsonElement live, JsonElement rebuilt, string path, List<string> fields)
    {
        if (live.ValueKind == JsonValueKind.Object && rebuilt.ValueKind == JsonValueKind.Object)
        {
            var names = live.EnumerateObject().Select(m => m.Name).Union(rebuilt.EnumerateObject().Select(m => m.Name)).Order(StringComparer.Ordinal);
            foreach (var name in names)
            {
                var member = path.Length == 0 ? name : $"{path}.{name}";
                if (live.TryGetProperty(name, out var a) && rebuilt.TryGetProperty(name, out var b))
                    Compare(a, b, member, fields);
                else
                    fields.Add(member);
            }
        }
        else if (!JsonElement.DeepEquals(live, rebuilt))
            fields.Add(path.Length == 0 ? "$" : path);
    }

    private static string Shorten(string text) => text.Length <= MaxText ? text : text[..MaxText] + "…";
}
