using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.History;

/// <summary><c>GET /api/history/export</c> and <c>POST /api/history/import</c> between real control planes, each on a store
/// of its own: the history carried whole (every query answers the same, the file re-exports byte for byte, no work order
/// is sent again), refused whole when anything in it was touched, appended only after the very same history.</summary>
public sealed partial class ImportingHistoryTests(ControlPlaneFixture fx, HistorySource source) : IClassFixture<HistorySource>
{
    [Fact]
    public async Task Given_a_lifecycle_exported_When_imported_into_an_empty_store_Then_every_query_answers_the_same_and_no_work_order_is_sent_again()
    {
        await using var target = await HistoryStore.StartAsync(fx);

        var imported = await (await target.ImportAsync(source.File)).Read<HistoryImported>();

        var lines = HistoryLines.Of(source.File);
        imported.Events.ShouldBe(lines.Length - 1);
        // Every line carries its event's schema version: a version is registered at version 2.
        lines.Where(l => l.Contains("\"type\":\"model_version_registered", StringComparison.Ordinal))
            .ShouldAllBe(l => l.Contains("\"type\":\"model_version_registered_v2\",\"schemaVersion\":2,", StringComparison.Ordinal));
        imported.Head.ShouldBe($"{await source.Store.HeadAsync()}:{HistoryLines.Hash(lines[^1])}");
        imported.Subscriptions.ShouldContain(s => s.StartsWith("work-orders", StringComparison.Ordinal));
        imported.Rebuilt.ShouldContain("EndpointState");
        // Every answer of the source, now and at moments along the way, is the target's.
        var routes = Routes();
        var expected = await AnswersAsync(source.Store, routes);
        var actual = await AnswersAsync(target, routes);
        foreach (var route in routes) actual[route].ShouldBe(expected[route], route);
        // The target holds the very events: exported again, the file is the same but for the export's own time.
        var again = HistoryLines.Of(await target.ExportAsync());
        again[1..].ShouldBe(lines[1..]);
        WithoutExportTime(again[0]).ShouldBe(WithoutExportTime(lines[0]));

        // The source sent its agents work orders; the target sends none of them again — only what happens there now.
        (await source.Store.WorkOrdersAsync()).ShouldBeGreaterThan(0);
        (await target.ProgressAsync("work-orders")).ShouldBe(await source.Store.HeadAsync());
        var s = new Scenario(fx, source.Lifecycle.Model, at: target.Address);
        (await s.Scientist.Send("/api/runs", s.Request() with { DatasetId = source.Lifecycle.DatasetId })).EnsureSuccessStatusCode();
        for (var i = 0; i < 100 && await target.WorkOrdersAsync() == 0; i++) await Task.Delay(100);
        (await target.WorkOrdersAsync()).ShouldBe(1, "the new run's order, and none of the history's");
    }

    [Fact]
    public async Task Given_a_history_changed_removed_reordered_or_cut_When_imported_Then_each_is_refused_at_its_line_and_nothing_is_stored()
    {
        await using var target = await HistoryStore.StartAsync(fx);
        var lines = HistoryLines.Of(source.File);
        var i = Array.FindIndex(lines, l => l.Contains("\"actor\":\"alice\"", StringComparison.Ordinal));
        i.ShouldBeGreaterThan(0);
        string Mallory(string line) => line.Replace("\"actor\":\"alice\"", "\"actor\":\"mallory\"", StringComparison.Ordinal);
        var whole = HistoryLines.File(lines);
        (string Case, byte[] File, int Line, string Reason)[] cases =
        [
            ("an actor changed", HistoryLines.File(lines.Select((l, n) => n == i ? Mallory(l) : l)), i + 1, "does not match its hash"),
            ("an actor changed, the line sealed again", HistoryLines.File(HistoryLines.Forge(lines, i, Mallory, rechain: false)), i + 2,
                "its prev is not the hash of the event line before it"),
            ("a line removed", HistoryLines.File(lines.Where((_, n) => n != i)), i + 1, "its prev is not the hash"),
            ("two lines swapped", HistoryLines.File(lines.Select((l, n) => n == i ? lines[i + 1] : n == i + 1 ? lines[i] : l)), i + 1, "its prev is not the hash"),
            ("the last lines cut", HistoryLines.File(lines[..^3]), lines.Length - 2, "it was cut"),
            ("cut inside a line", whole[..^10], lines.Length, "no line end"),
            ("the header's count changed", HistoryLines.File([lines[0].Replace("\"events\":", "\"events\":1", StringComparison.Ordinal), .. lines[1..]]), 1,
                "does not match its hash"),
            ("the header removed", HistoryLines.File(lines[1..]), 1, "format is not emo-history/1"),
        ];

        foreach (var (name, file, line, reason) in cases)
        {
            var problem = await (await target.ImportAsync(file)).Problem(422);
            problem.GetProperty("line").GetInt32().ShouldBe(line, name);
            problem.GetProperty("detail").GetString()!.ShouldContain(reason, Case.Sensitive, name);
            (await target.EventCountAsync()).ShouldBe(0, name);
        }
    }

    [Fact]
    public async Task Given_a_store_holding_part_of_a_history_When_the_rest_is_appended_after_its_last_event_Then_only_the_same_history_continues()
    {
        await using var target = await HistoryStore.StartAsync(fx);
        var moment = source.Moments[1];
        var prefix = await (await target.ImportAsync(await source.Store.ExportAsync(moment.ToString()))).Read<HistoryImported>();
        prefix.Head.ShouldStartWith($"{moment}:");
        var held = await target.EventCountAsync();
        var lines = HistoryLines.Of(source.File);
        var i = Array.FindIndex(lines, l => l.Contains("\"actor\":\"alice\"", StringComparison.Ordinal));
        JsonNode.Parse(lines[i])!["seq"]!.GetValue<long>().ShouldBeLessThan(moment);
        // Another history, consistently chained, whose event at the moment has another hash.
        var forged = HistoryLines.Forge(lines, i, l => l.Replace("\"actor\":\"alice\"", "\"actor\":\"mallory\"", StringComparison.Ordinal), rechain: true);
        var forgedAtMoment = forged.Single(l => l.StartsWith($"{{\"seq\":{moment},", StringComparison.Ordinal));

        (await (await target.ImportAsync(source.File)).Problem(409)).GetProperty("detail").GetString()!.ShouldContain("not empty");
        (await (await target.ImportAsync(source.File, $"{moment}:{new string('a', 64)}")).Problem(422)).GetProperty("detail").GetString()!
            .ShouldContain($"the file's event at sequence {moment} has chain hash");
        var seq = JsonNode.Parse(lines[2])!["seq"]!.GetValue<long>();
        (await (await target.ImportAsync(source.File, $"{seq}:{HistoryLines.Hash(lines[2])}")).Problem(409)).GetProperty("detail").GetString()!
            .ShouldContain($"this store's last event is sequence {moment}, not {seq}");
        (await (await target.ImportAsync(HistoryLines.File(forged), $"{moment}:{HistoryLines.Hash(forgedAtMoment)}")).Problem(409)).GetProperty("detail").GetString()!
            .ShouldContain($"this store's history up to sequence {moment} is not the file's");
        (await target.EventCountAsync()).ShouldBe(held);

        var appended = await (await target.ImportAsync(source.File, prefix.Head)).Read<HistoryImported>();

        appended.FromSequence.ShouldBe(moment + 1);
        appended.Events.ShouldBe(lines.Length - 1 - held);
        HistoryLines.Of(await target.ExportAsync())[1..].ShouldBe(lines[1..]);
    }

    [Theory]
    [InlineData(Roles.Viewer)]
    [InlineData(Roles.Scientist)]
    [InlineData(Roles.Operator)]
    public async Task Given_a_principal_who_is_not_an_admin_When_exporting_or_importing_Then_it_is_forbidden(string role)
    {
        using var client = source.Store.As(role, "victor");
        var head = await source.Store.HeadAsync();

        (await (await client.GetAsync("/api/history/export")).Problem(403)).GetProperty("title").GetString().ShouldBe("Forbidden");
        await (await source.Store.ImportAsync(source.File, client: client)).Problem(403);

        (await source.Store.HeadAsync()).ShouldBe(head);
    }

    [Fact]
    public async Task Given_a_history_larger_than_the_limit_When_imported_Then_it_is_refused_as_too_large_whether_its_length_is_declared_or_not()
    {
        await using var target = await HistoryStore.StartAsync(fx, "--History:MaxImportBytes=4096");
        source.File.Length.ShouldBeGreaterThan(4096);

        var declared = await (await target.ImportAsync(source.File)).Problem(413);
        using var admin = target.Admin;
        var streamed = new StreamContent(new NonSeekable(source.File));
        streamed.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        var chunked = await (await admin.PostAsync("/api/history/import", streamed)).Problem(413);

        declared.GetProperty("detail").GetString()!.ShouldContain("larger than this control plane accepts (4,096 bytes");
        chunked.GetProperty("detail").GetString()!.ShouldContain("larger than this control plane accepts");
        (await target.EventCountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task Given_a_store_with_history_When_a_history_is_imported_without_naming_its_last_event_Then_it_is_refused_as_not_empty()
    {
        var head = await source.Store.HeadAsync();

        var problem = await (await source.Store.ImportAsync(source.File)).Problem(409);

        problem.GetProperty("detail").GetString()!.ShouldContain($"this store is not empty (its last event is sequence {head})");
        (await source.Store.HeadAsync()).ShouldBe(head);
    }

    [Fact]
    public async Task Given_a_moment_as_a_time_When_exported_Then_the_file_ends_with_the_last_event_at_or_before_it_and_a_bad_moment_is_refused()
    {
        var lines = HistoryLines.Of(source.File);
        string Time(string line) => JsonNode.Parse(line)!["timestamp"]!.GetValue<string>();
        var k = Enumerable.Range(lines.Length / 2, lines.Length / 2 - 1).First(i => Time(lines[i]) != Time(lines[i + 1]));

        var until = HistoryLines.Of(await source.Store.ExportAsync(Time(lines[k])));

        until[1..].ShouldBe(lines[1..(k + 1)]);
        JsonNode.Parse(until[0])!["until"]!.GetValue<long>().ShouldBe(JsonNode.Parse(lines[k])!["seq"]!.GetValue<long>());
        using var admin = source.Store.Admin;
        (await (await admin.GetAsync("/api/history/export?until=yesterday")).Problem(400)).GetProperty("field").GetString().ShouldBe("until");
    }

    [Fact]
    public async Task Given_a_body_that_is_not_a_history_file_When_imported_Then_it_is_refused_as_unsupported_before_it_is_read()
    {
        using var admin = source.Store.Admin;
        var head = await source.Store.HeadAsync();

        var problem = await (await admin.PostAsync("/api/history/import", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"))).Problem(415);

        problem.GetProperty("detail").GetString()!.ShouldContain("application/x-ndjson");
        (await source.Store.HeadAsync()).ShouldBe(head);
    }

    /// <summary>Every question the lifecycle's history answers: registry, runs, dataset, endpoint, lineage of every version
    /// and of the endpoint, the environment plan, the audit trail and the event log — now and as of the moments.</summary>
    private List<string> Routes()
    {
        var s = source.Lifecycle;
        List<string> now =
        [
            "/api/models", $"/api/models/{s.Model}", $"/api/runs?model={s.Model}", $"/api/datasets/{s.DatasetId}", "/api/endpoints",
            $"/api/endpoints/{s.Endpoint}", $"/api/lineage/endpoints/{s.Endpoint}", $"/api/endpoints/{s.Endpoint}/drift", "/api/environment/plan",
            "/api/audit?limit=1000", "/api/events?after=0&limit=1000", $"/api/audit?actor=bob", $"/api/impact?dataset={s.DatasetSha}",
            .. new[] { source.V1, source.V2 }.SelectMany(v => new[] { $"/api/models/{s.Model}/versions/{v}", $"/api/lineage/models/{s.Model}/{v}" }),
            .. source.Runs.Append(source.WaitingRun).Select(r => $"/api/runs/{r}"),
        ];
        return [.. now, .. source.Moments.SelectMany(m => now.Where(r => !r.Contains('?') && !r.EndsWith("/drift", StringComparison.Ordinal)).Select(r => $"{r}?asOf={m}"))];
    }

    private static async Task<Dictionary<string, string>> AnswersAsync(HistoryStore store, IEnumerable<string> routes)
    {
        using var admin = store.Admin;
        var answers = new Dictionary<string, string>();
        foreach (var route in routes)
        {
            using var response = await admin.GetAsync(route);
            // A refusal (a run that did not exist yet) carries the request's trace id: the one part that is not history.
            answers[route] = $"{(int)response.StatusCode} {TraceId().Replace(await response.Content.ReadAsStringAsync(), "")}";
        }
        return answers;
    }

    [System.Text.RegularExpressions.GeneratedRegex(",\"traceId\":\"[^\"]*\"")]
    private static partial System.Text.RegularExpressions.Regex TraceId();

    private static string WithoutExportTime(string header)
    {
        var node = JsonNode.Parse(header)!.AsObject();
        node.Remove("exportedAt");
        node.Remove("hash");
        return node.ToJsonString();
    }

    /// <summary>A body of unknown length (sent chunked).</summary>
    private sealed class NonSeekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
