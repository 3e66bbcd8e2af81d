using System.Security.Cryptography;
using System.Text;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using Marten;
using Npgsql;

namespace EventMlOps.ControlPlane.History;

/// <summary>
/// Rebuilds the control plane's projections and snapshots from the events through Marten's projection daemon, while the
/// control plane goes on answering: each is rebuilt into a scratch schema (<see cref="ScratchStore"/>) and only then put in
/// place, table by table, in one short transaction that writes just the documents whose JSON differs. Subscriptions (the
/// work orders) are not projections and are never replayed: a rebuild sends nothing to the agents.
/// </summary>
/// <remarks>
/// One rebuild or verification of a projection at a time across every replica: each holds a PostgreSQL advisory lock per
/// projection for as long as it runs (<see cref="ClaimAsync"/>).
/// </remarks>
public sealed class ProjectionRebuild(IDocumentStore store, string connectionString, ILogger<ProjectionRebuild> log)
{
    /// <summary>How long putting one table in place waits for commands writing it to finish before it gives up.</summary>
    private const string LockTimeout = "10s";

    /// <summary>The projections and snapshots the store registers (inline and async alike), by their daemon names.</summary>
    public IReadOnlyList<ProjectionTarget> Projections { get; } = [.. ((StoreOptions)store.Options).Projections.All
        .Where(p => p.Lifecycle is not JasperFx.Events.Projections.ProjectionLifecycle.Live)
        .SelectMany(p => p.PublishedTypes().Select(t => new ProjectionTarget(p.Name, t, p.Lifecycle.ToString())))
        .OrderBy(p => p.Name, StringComparer.Ordinal)];

    public string Schema => store.Options.DatabaseSchemaName;

    /// <summary>Every projection with the number of documents it holds now.</summary>
    public async Task<IReadOnlyList<ProjectionInfo>> ListAsync(CancellationToken ct)
    {
        await EnsureLiveTablesAsync(Projections, ct);
        await using var conn = store.Storage.Database.CreateConnection();
        await conn.OpenAsync(ct);
        var list = new List<ProjectionInfo>();
        foreach (var p in Projections)
        {
            await using var count = new NpgsqlCommand($"select count(*) from {Schema}.{ScratchStore.Table(store, p.Document)}", conn);
            list.Add(new ProjectionInfo(p.Name, p.Document.Name, p.Lifecycle, (long)(await count.ExecuteScalarAsync(ct))!));
        }
        return list;
    }

    /// <summary>The named projections (every one when none is named); an unknown name is refused with the names that exist.</summary>
    public IReadOnlyList<ProjectionTarget> Resolve(IReadOnlyList<string>? names)
    {
        if (names is null or { Count: 0 }) return Projections;
        foreach (var name in names)
            if (name is null || Projections.All(p => p.Name != name))
                throw new InvalidField("names", $"no projection is named {Guard.Shown(name)}; the projections are {string.Join(", ", Projections.Select(p => p.Name).Distinct())}");
        return [.. Projections.Where(p => names.Contains(p.Name))];
    }

    /// <summary>Takes the named projections for one rebuild or verification, or refuses with <see cref="Busy"/> when another
    /// holds any of them (in this replica or another). Disposing the claim releases them.</summary>
    public async Task<ProjectionClaim> ClaimAsync(IReadOnlyList<ProjectionTarget> projections, CancellationToken ct)
    {
        // Its own session, never pooled: closing it is what releases the locks (a pooled one would keep them until reused).
        var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        try
        {
            await conn.OpenAsync(ct);
            foreach (var p in projections)
            {
                await using var cmd = new NpgsqlCommand("select pg_try_advisory_lock(@key)", conn);
                cmd.Parameters.AddWithValue("key", BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes($"emo projection rebuild {Schema} {p.Name}"))));
                if (!(bool)(await cmd.ExecuteScalarAsync(ct))!)
                    throw new Busy($"projection {p.Name} is being rebuilt or verified already; wait for that to finish");
            }
            return new ProjectionClaim(projections, conn);
        }
        catch
        {
            await conn.DisposeAsync(); // closing the session releases the locks it took
            throw;
        }
    }

    /// <summary>What a history import calls once the raw events are in: every projection and snapshot rebuilt and put in place.</summary>
    public async Task<IReadOnlyList<DocumentsReplaced>> RebuildAllAsync(IProgress<ProjectionProgress>? progress, CancellationToken ct)
    {
        await using var claim = await ClaimAsync(Projections, ct);
        return await RebuildAsync(claim, progress, ct);
    }

    /// <summary>Rebuilds the claimed projections into a scratch schema, then puts each document table in place.</summary>
    public async Task<IReadOnlyList<DocumentsReplaced>> RebuildAsync(ProjectionClaim claim, IProgress<ProjectionProgress>? progress, CancellationToken ct)
    {
        await using var scratch = await RebuiltAsync(claim, progress, ct);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var replaced = new List<DocumentsReplaced>();
        foreach (var p in claim.Projections)
            replaced.Add(await ReplaceAsync(scratch, p, ct));
        log.LogInformation("Put the rebuilt projections {Projections} in place in {Seconds:0.0} s: {Replaced}",
            claim.Projections.Select(p => p.Name), clock.Elapsed.TotalSeconds, replaced);
        return replaced;
    }

    /// <summary>Rebuilds the claimed projections into a scratch schema and compares every document with the live one.</summary>
    public async Task<Verification> VerifyAsync(ProjectionClaim claim, IProgress<ProjectionProgress>? progress, CancellationToken ct)
    {
        await using var scratch = await RebuiltAsync(claim, progress, ct);
        var verification = await ProjectionVerification.CompareAsync(scratch, store, ct);
        log.LogInformation("Verified projections {Projections}: {Compared} documents compared, {Differences} differences",
            claim.Projections.Select(p => p.Name), verification.Compared, verification.DifferenceCount);
        return verification;
    }

    private async Task<ScratchStore> RebuiltAsync(ProjectionClaim claim, IProgress<ProjectionProgress>? progress, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await EnsureLiveTablesAsync(claim.Projections, ct);
        var scratch = await ScratchStore.CreateAsync(connectionString, Schema, claim.Projections, ct);
        try
        {
            await scratch.RebuildAsync(progress, log, ct);
            log.LogInformation("Rebuilt the projections {Projections} into {Scratch} in {Seconds:0.0} s",
                claim.Projections.Select(p => p.Name), scratch.Schema, clock.Elapsed.TotalSeconds);
            return scratch;
        }
        catch
        {
            await scratch.DisposeAsync();
            throw;
        }
    }

    private async Task EnsureLiveTablesAsync(IEnumerable<ProjectionTarget> projections, CancellationToken ct)
    {
        foreach (var p in projections)
            await store.Storage.Database.EnsureStorageExistsAsync(p.Document, ct);
    }

    /// <summary>
    /// Puts one rebuilt table in place in one transaction: while it holds the table (commands writing it wait; queries go on
    /// reading it), it deletes, updates and inserts exactly the live rows whose JSON differs from the rebuild's, except the rows
    /// commands wrote since the rebuild began (<see cref="ScratchStore"/>): those already hold their newer events.
    /// </summary>
    private async Task<DocumentsReplaced> ReplaceAsync(ScratchStore scratch, ProjectionTarget p, CancellationToken ct)
    {
        var table = ScratchStore.Table(store, p.Document);
        string live = $"{scratch.LiveSchema}.{table}", rebuilt = $"{scratch.Schema}.{table}";
        await using var conn = await scratch.OpenAsync(ct);
        var columns = await ColumnsAsync(conn, scratch.Schema, table, ct);
        var missing = columns.Except(await ColumnsAsync(conn, scratch.LiveSchema, table, ct)).ToList();
        if (missing.Count > 0)
            throw new RebuildAborted($"the live {p.Document.Name} documents lack {missing.Count} column(s) the rebuild wrote; start the control plane once so that it migrates them");
        var all = string.Join(", ", columns.Select(c => $"\"{c}\""));
        var set = string.Join(", ", columns.Where(c => c != "id").Select(c => $"\"{c}\""));
        var from = string.Join(", ", columns.Where(c => c != "id").Select(c => $"r.\"{c}\""));

        await using var tx = await conn.BeginTransactionAsync(ct);
        await ScratchStore.Sql(conn, $"set local lock_timeout = '{LockTimeout}'", ct);
        await ScratchStore.Sql(conn, $"lock table {live} in exclusive mode", ct);
        await ScratchStore.Sql(conn, $"create temp table touched on commit drop as select distinct id from {scratch.Touched(table)} t", ct);
        var deleted = await CountAsync(conn, $"""
            delete from {live} l where not exists (select 1 from {rebuilt} r where r.id = l.id) and l.id not in (select id from touched)
            """, ct);
        var updated = await CountAsync(conn, $"""
            update {live} l set ({set}) = ({from}) from {rebuilt} r
            where r.id = l.id and l.data is distinct from r.data and l.id not in (select id from touched)
            """, ct);
        var inserted = await CountAsync(conn, $"""
            insert into {live} ({all}) select {all} from {rebuilt} r
            where not exists (select 1 from {live} l where l.id = r.id) and r.id not in (select id from touched)
            """, ct);
        var kept = await ScalarAsync(conn, "select count(*) from touched", ct);
        var total = await ScalarAsync(conn, $"select count(*) from {rebuilt}", ct);
        await tx.CommitAsync(ct);
        return new DocumentsReplaced(p.Document.Name, total, inserted, updated, deleted, kept);
    }

    private static async Task<List<string>> ColumnsAsync(NpgsqlConnection conn, string schema, string table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "select column_name from information_schema.columns where table_schema = @schema and table_name = @table order by ordinal_position", conn);
        cmd.Parameters.AddWithValue("schema", schema);
        cmd.Parameters.AddWithValue("table", table);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var columns = new List<string>();
        while (await reader.ReadAsync(ct)) columns.Add(reader.GetString(0));
        return columns;
    }

    private static async Task<long> CountAsync(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    internal static async Task<long> ScalarAsync(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>Projections taken for one rebuild or verification (<see cref="ProjectionRebuild.ClaimAsync"/>): the session whose
/// advisory locks hold them, released when disposed.</summary>
public sealed class ProjectionClaim(IReadOnlyList<ProjectionTarget> projections, NpgsqlConnection session) : IAsyncDisposable
{
    public IReadOnlyList<ProjectionTarget> Projections { get; } = projections;

    public ValueTask DisposeAsync() => session.DisposeAsync();
}
