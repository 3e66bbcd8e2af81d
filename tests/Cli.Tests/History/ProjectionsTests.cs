using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;
using Npgsql;

namespace EventMlOps.Cli.Tests.History;

/// <summary><c>emo projections</c> against the real control plane: the list, a rebuild with its progress, and a verification
/// that names a corrupted document and exits 1 until a rebuild puts the rebuilt one back.</summary>
public sealed class ProjectionsTests(ControlPlaneFixture cp)
{
    private readonly EmoUser _ada = cp.As("ada", Roles.Admin);

    [Fact]
    public async Task Given_a_dataset_When_an_admin_lists_the_projections_Then_each_is_a_row_with_its_documents()
    {
        (await cp.As("alice", Roles.Scientist).RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", "listed")).ShouldSucceed();

        var lines = (await _ada.RunAsync("projections", "list")).ShouldSucceed().Out.Split(Environment.NewLine);

        lines[0].ShouldStartWith("PROJECTION");
        lines.ShouldContain(l => l.StartsWith("Dataset ") && l.Contains("Inline"));
        lines.ShouldContain(l => l.StartsWith("TrainingRun "));
        lines.ShouldNotContain(l => l.Contains("work-orders"));
    }

    [Fact]
    public async Task Given_a_dataset_When_its_projection_is_rebuilt_and_the_store_verified_Then_the_progress_and_results_print_and_both_exit_0()
    {
        (await cp.As("alice", Roles.Scientist).RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", "rebuilt")).ShouldSucceed();

        var rebuilt = (await _ada.RunAsync("projections", "rebuild", "--name", "Dataset")).ShouldSucceed().Out;
        var verified = (await _ada.RunAsync("projections", "rebuild", "--verify")).ShouldSucceed().Out;

        rebuilt.ShouldStartWith("Rebuilding Dataset (run ");
        rebuilt.ShouldMatch(@"\n  Dataset +[\d,]+ / [\d,]+ events \(100%\)  [\d,]+ events/s  done");
        rebuilt.ShouldContain("Rebuilt in ");
        // Nothing inserted, updated or deleted; other tests' datasets registered meanwhile are kept live, however many.
        rebuilt.ShouldMatch(@"\nDataset +[1-9][\d,]* +0 +0 +0 +[\d,]+");
        verified.ShouldContain("Verifying AnomalyEpisode, Dataset,");
        verified.ShouldContain("documents compared with their rebuild");
        verified.ShouldContain("no differences");
    }

    [Fact]
    public async Task Given_a_document_changed_behind_its_projection_When_verified_Then_it_is_named_and_verify_exits_1_until_a_rebuild()
    {
        var id = (await cp.As("alice", Roles.Scientist).RunAsync("datasets", "register", Lifecycle.RatingsFile(), "--name", "tampered", "--json"))
            .ShouldSucceed().StreamId();
        var key = StreamKeys.Dataset(id);
        await using (var conn = new NpgsqlConnection(cp.ConnectionString))
        {
            await conn.OpenAsync(TestContext.Current.CancellationToken);
            await using var cmd = new NpgsqlCommand($"update {cp.Schema}.mt_doc_dataset set data = jsonb_set(data, '{{name}}', '\"other\"') where id = @id", conn);
            cmd.Parameters.AddWithValue("id", key);
            (await cmd.ExecuteNonQueryAsync(TestContext.Current.CancellationToken)).ShouldBe(1);
        }

        var table = await _ada.RunAsync("projections", "rebuild", "--verify", "--name", "Dataset");
        var json = await _ada.RunAsync("projections", "rebuild", "--verify", "--name", "Dataset", "--json");

        table.ExitCode.ShouldBe(1, table.ToString());
        table.Out.ShouldContain("1 difference(s)");
        table.Out.ShouldMatch($@"\nDataset +{key} +changed +name\n");
        json.ExitCode.ShouldBe(1, json.ToString());
        json.Err.ShouldContain("Verifying Dataset");
        var verification = json.Json().GetProperty("verification");
        verification.GetProperty("differenceCount").GetInt64().ShouldBe(1);
        verification.GetProperty("differences")[0].GetProperty("id").GetString().ShouldBe(key);

        (await _ada.RunAsync("projections", "rebuild", "--name", "Dataset")).ShouldSucceed().Out.ShouldMatch(@"\nDataset +[\d,]+ +0 +1 +0 +[\d,]+"); // kept live: other tests' datasets registered meanwhile
        (await _ada.RunAsync("projections", "rebuild", "--verify", "--name", "Dataset")).ShouldSucceed().Out.ShouldContain("no differences");
    }

    [Fact]
    public async Task Given_a_viewer_or_an_unknown_name_When_rebuilding_Then_it_exits_2_with_the_reason()
    {
        var viewer = await cp.As("vera", Roles.Viewer).RunAsync("projections", "rebuild");
        var unknown = await _ada.RunAsync("projections", "rebuild", "--name", "work-orders");

        viewer.ExitCode.ShouldBe(2, viewer.ToString());
        viewer.Err.ShouldContain("admin");
        unknown.ExitCode.ShouldBe(2, unknown.ToString());
        unknown.Err.ShouldContain("no projection is named 'work-orders'");
        unknown.Err.ShouldContain("TrainingRun");
    }
}
