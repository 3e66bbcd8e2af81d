using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Tests.Testing;
using Microsoft.AspNetCore.Builder;
using Npgsql;

namespace EventMlOps.ControlPlane.Tests.History;

/// <summary>A control plane of its own (its own store in a schema of the test database), for histories to be exported from
/// and imported into; what the tests read of it beyond its API: its events, its work-order queue, its subscriptions' progress.</summary>
public sealed class HistoryStore(ControlPlaneFixture fx, WebApplication app, Uri address, string schema) : IAsyncDisposable
{
    public static async Task<HistoryStore> StartAsync(ControlPlaneFixture fx, params string[] extra)
    {
        var schema = "hist_" + Guid.NewGuid().ToString("N")[..10];
        var (app, address) = await fx.StartWithAddressAsync(schema, extra);
        return new HistoryStore(fx, app, address, schema);
    }

    public Uri Address => address;
    public HttpClient Admin => fx.Client(Roles.Admin, "ada", address);
    public HttpClient As(string role, string name) => fx.Client(role, name, address);

    public async Task<byte[]> ExportAsync(string? until = null)
    {
        using var admin = Admin;
        using var response = await admin.GetAsync("/api/history/export" + (until is null ? "" : $"?until={Uri.EscapeDataString(until)}"));
        response.IsSuccessStatusCode.ShouldBeTrue(await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-ndjson");
        return await response.Content.ReadAsByteArrayAsync();
    }

    public async Task<HttpResponseMessage> ImportAsync(byte[] history, string? appendAfter = null, HttpClient? client = null)
    {
        using var admin = Admin;
        var content = new ByteArrayContent(history);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        return await (client ?? admin).PostAsync("/api/history/import" + (appendAfter is null ? "" : $"?appendAfter={appendAfter}"), content);
    }

    public Task<long> EventCountAsync() => ScalarAsync($"select count(*) from {schema}.mt_events");

    public Task<long> HeadAsync() => ScalarAsync($"select coalesce(max(seq_id), 0) from {schema}.mt_events");

    /// <summary>The work orders the control plane has sent the agents (no agent reads them in these tests).</summary>
    public async Task<long> WorkOrdersAsync()
    {
        var tables = new List<string>();
        await using (var conn = await OpenAsync())
        await using (var cmd = new NpgsqlCommand("select table_name from information_schema.tables where table_schema = @s and table_name like '%agents%'", conn))
        {
            cmd.Parameters.AddWithValue("s", schema + "_queues");
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }
        tables.ShouldNotBeEmpty("the agents' queue table");
        long count = 0;
        foreach (var table in tables) count += await ScalarAsync($"select count(*) from {schema}_queues.\"{table}\"");
        return count;
    }

    /// <summary>Waits until the work-orders subscription has handled every event (so nothing more is sent or appended).</summary>
    public async Task SettledAsync()
    {
        for (var i = 0; i < 200; i++)
        {
            if (await ScalarAsync($"select coalesce(max(last_seq_id), 0) from {schema}.mt_event_progression where name like 'work-orders%'") >= await HeadAsync())
                return;
            await Task.Delay(100);
        }
        throw new TimeoutException("the work-orders subscription did not catch up");
    }

    public Task<long> ProgressAsync(string name) => ScalarAsync($"select coalesce(max(last_seq_id), -1) from {schema}.mt_event_progression where name like '{name}%'");

    private async Task<long> ScalarAsync(string sql)
    {
        await using var conn = await OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var conn = new NpgsqlConnection(fx.ConnectionString);
        await conn.OpenAsync();
        return conn;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>The history file's documented hash rule, written again from its description: what a forger who knows the
/// format (or a tool in another language) does.</summary>
public static class HistoryLines
{
    public static string[] Of(byte[] file) => Encoding.UTF8.GetString(file).Split('\n')[..^1];

    public static byte[] File(IEnumerable<string> lines) => Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));

    public static string Hash(string line) => JsonNode.Parse(line)!["hash"]!.GetValue<string>();

    /// <summary>Changes line <paramref name="index"/> (0 = header) and seals it again; with <paramref name="rechain"/> every
    /// event line after it too: a consistent chain of a different history.</summary>
    public static string[] Forge(string[] lines, int index, Func<string, string> change, bool rechain)
    {
        var forged = (string[])lines.Clone();
        forged[index] = Seal(change(Content(forged[index])));
        for (var i = index + 1; rechain && index >= 1 && i < forged.Length; i++)
        {
            var node = JsonNode.Parse(Content(forged[i]))!.AsObject();
            node["prev"] = Hash(forged[i - 1]);
            forged[i] = Seal(node.ToJsonString());
        }
        return forged;
    }

    /// <summary>The line without its trailing hash member, closed: the bytes its hash covers.</summary>
    private static string Content(string line) => line[..line.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal)] + "}";

    private static string Seal(string content) =>
        content[..^1] + $",\"hash\":\"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))}\"}}";
}
