using System.Text.Json.Nodes;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.History;

/// <summary>Old histories keep replaying: <c>tests/fixtures/history-v1.ndjson</c>, exported by <c>emo events export</c> from a
/// real <c>emo demo --quick</c> before any event changed shape, imported into a fresh store of today's control plane, must
/// answer what the demo's own control plane answered then (<c>history-v1.expected.json</c>, made beside it by
/// <c>make-history-fixture.sh</c>). Neither file is ever regenerated: a change that breaks an old history fails here.</summary>
public sealed class ReplayingFrozenHistoryTests(ControlPlaneFixture fx)
{
    private static string Fixture(string file) => Path.Combine(TestHost.RepoRoot(), "tests", "fixtures", file);

    [Fact]
    public async Task Given_the_frozen_v1_history_When_imported_into_todays_control_plane_Then_lineage_as_of_lineage_and_endpoint_state_answer_as_then()
    {
        var expected = JsonNode.Parse(await File.ReadAllTextAsync(Fixture("history-v1.expected.json")))!.AsObject();
        await using var store = await HistoryStore.StartAsync(fx);

        var imported = await (await store.ImportAsync(await File.ReadAllBytesAsync(Fixture("history-v1.ndjson")))).Read<HistoryImported>();

        imported.Head.ShouldBe(expected["head"]!.GetValue<string>());
        var until = expected["until"]!.GetValue<long>();
        using var admin = store.Admin;
        foreach (var (key, lineage) in expected["versions"]!.AsObject())
        {
            var (model, version) = (key[..key.LastIndexOf('@')], key[(key.LastIndexOf('@') + 1)..]);
            await SameAsync(admin, $"/api/lineage/models/{model}/{version}?asOf={until}", lineage!);
            await SameAsync(admin, $"/api/lineage/models/{model}/{version}", Now(lineage!));
        }
        foreach (var (name, answers) in expected["endpoints"]!.AsObject())
        {
            await SameAsync(admin, $"/api/lineage/endpoints/{name}?asOf={until}", answers!["lineage"]!);
            await SameAsync(admin, $"/api/lineage/endpoints/{name}", Now(answers["lineage"]!));
            await SameAsync(admin, $"/api/endpoints/{name}?asOf={until}", answers["state"]!);
            await SameAsync(admin, $"/api/endpoints/{name}", Now(answers["state"]!));
        }
        foreach (var (moment, endpoints) in expected["asOf"]!.AsObject())
            foreach (var (name, answers) in endpoints!.AsObject())
            {
                await SameAsync(admin, $"/api/lineage/endpoints/{name}?asOf={moment}", answers!["lineage"]!);
                await SameAsync(admin, $"/api/endpoints/{name}?asOf={moment}", answers["state"]!);
            }
    }

    /// <summary>The answer the store gives now, when nothing happened after the history: the expected one asked as of its
    /// end, less the echoes of that question (<c>asOf</c>, wherever a view carries it).</summary>
    private static JsonNode Now(JsonNode asOfTheEnd)
    {
        var now = asOfTheEnd.DeepClone();
        Forget(now);
        return now;

        static void Forget(JsonNode? node)
        {
            if (node is JsonArray items)
                foreach (var item in items) Forget(item);
            if (node is not JsonObject members) return;
            if (members.ContainsKey("asOf")) members["asOf"] = null;
            foreach (var (_, value) in members) Forget(value);
        }
    }

    private static async Task SameAsync(HttpClient client, string route, JsonNode expected)
    {
        var actual = JsonNode.Parse(await (await client.GetAsync(route)).Content.ReadAsStringAsync());
        Difference(actual, expected, "$").ShouldBeNull(route);
    }

    private static bool IsEmpty(JsonNode? node) => node is null || node is JsonArray { Count: 0 } || node is JsonObject { Count: 0 };

    /// <summary>Where the actual answer first differs from the expected one (null: nowhere). Numbers compare by value: the
    /// expected file was written by jq, which spells 1.2E-07 as 1.2e-07.</summary>
    private static string? Difference(JsonNode? actual, JsonNode? expected, string path) => (actual, expected) switch
    {
        // A member added since (a view grows) answers empty for an old history; every member it had must answer the same.
        (JsonObject a, JsonObject e) => a.FirstOrDefault(p => !e.ContainsKey(p.Key) && !IsEmpty(p.Value)) is { Key: { } added }
            ? $"{path}.{added}: a member the old answer did not have, and not empty"
            : e.Select(p => a.TryGetPropertyValue(p.Key, out var v) ? Difference(v, p.Value, $"{path}.{p.Key}") : $"{path}.{p.Key} missing")
                .FirstOrDefault(d => d is not null),
        (JsonArray a, JsonArray e) => a.Count != e.Count
            ? $"{path}: {a.Count} items instead of {e.Count}"
            : a.Zip(e).Select((p, i) => Difference(p.First, p.Second, $"{path}[{i}]")).FirstOrDefault(d => d is not null),
        (JsonValue a, JsonValue e) when a.GetValueKind() == System.Text.Json.JsonValueKind.Number && e.GetValueKind() == System.Text.Json.JsonValueKind.Number =>
            a.GetValue<double>() == e.GetValue<double>() ? null : $"{path}: {a.ToJsonString()} instead of {e.ToJsonString()}",
        _ => JsonNode.DeepEquals(actual, expected) ? null : $"{path}: {actual?.ToJsonString() ?? "null"} instead of {expected?.ToJsonString() ?? "null"}",
    };
}
