using EventMlOps.Cli.Tests.Testing;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Tests.Lineage;

public sealed class LineageTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_an_approved_version_When_its_lineage_is_shown_Then_the_tree_names_the_dataset_sha_the_run_and_the_approver()
    {
        var lifecycle = new Lifecycle(cp);
        var (dataset, run, version) = await lifecycle.RegisteredVersionAsync();
        (await lifecycle.Bob.RunAsync("versions", "approve", version, "--comment", "ok")).ShouldSucceed();
        var sha = (await lifecycle.Bob.RunAsync("datasets", "show", dataset.ToString(), "--json")).ShouldSucceed().Json().GetProperty("sha256").GetString()!;

        var tree = (await lifecycle.Bob.RunAsync("lineage", version)).ShouldSucceed().Out;

        tree.ShouldContain($"dataset generated-recommender  sha256 {sha}");
        tree.ShouldContain($"└── run {run}  recommender  Succeeded");
        tree.ShouldContain($"└── version {version}");
        tree.ShouldContain("approved ");
        tree.ShouldContain("by bob: \"ok\"");
        tree.IndexOf("dataset", StringComparison.Ordinal).ShouldBeLessThan(tree.IndexOf("run", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_an_endpoint_after_a_promotion_When_lineage_is_asked_as_of_before_it_Then_the_old_split_is_shown()
    {
        var lifecycle = new Lifecycle(cp);
        var (dataset, _, v1) = await lifecycle.RegisteredVersionAsync();
        var ops = cp.As("olivia", Roles.Operator);
        var endpoint = lifecycle.Model + "-ep";
        (await ops.RunAsync("endpoints", "create", endpoint, "--model", lifecycle.Model)).ShouldSucceed();
        (await lifecycle.Bob.RunAsync("versions", "approve", v1)).ShouldSucceed();
        (await ops.RunAsync("endpoints", "rollout", endpoint, "--version", "1")).ShouldSucceed();
        (await lifecycle.Bob.RunAsync("versions", "approve", await lifecycle.SecondVersionAsync(dataset))).ShouldSucceed();
        (await ops.RunAsync("endpoints", "rollout", endpoint, "--version", "2", "--canary", "10,50", "--bake", "5")).ShouldSucceed();
        var before = (await ops.RunAsync("audit", "--stream", "endpoint:" + endpoint, "--limit", "1", "--json")).ShouldSucceed()
            .Json()[0].GetProperty("sequence").GetInt64();
        (await ops.RunAsync("endpoints", "promote", endpoint)).ShouldSucceed();

        var now = (await ops.RunAsync("lineage", "--endpoint", endpoint)).ShouldSucceed().Out;
        var then = (await ops.RunAsync("lineage", "--endpoint", endpoint, "--as-of", before.ToString())).ShouldSucceed().Out;

        now.ShouldContain("traffic  v2 100%");
        then.ShouldContain("traffic  v1 90% / v2 10%");
        then.ShouldContain($"(as of seq {before})");
        then.ShouldContain($"serving {v1} (90%)");
        (await ops.RunAsync("endpoints", "show", endpoint)).ShouldSucceed().Out.ShouldContain("v2 Canary promoted by olivia");
    }

    [Fact]
    public async Task Given_a_dataset_used_by_a_version_When_impact_is_asked_Then_the_version_is_listed()
    {
        var lifecycle = new Lifecycle(cp);
        var (dataset, run, _) = await lifecycle.RegisteredVersionAsync();
        var sha = (await lifecycle.Bob.RunAsync("datasets", "show", dataset.ToString(), "--json")).ShouldSucceed().Json().GetProperty("sha256").GetString()!;

        var impact = (await lifecycle.Bob.RunAsync("impact", "--dataset", sha)).ShouldSucceed().Out;

        impact.ShouldContain(run.ToString());
        impact.ShouldContain(lifecycle.Model);
    }

    [Fact]
    public async Task Given_neither_a_version_nor_an_endpoint_When_lineage_runs_Then_usage_error_exit_2()
    {
        var result = await cp.As("vera", Roles.Viewer).RunAsync("lineage");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("give either <model>@<version> or --endpoint <name>");
    }
}
