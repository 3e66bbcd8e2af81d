using System.Text.Json.Nodes;
using EventMlOps.Client.Http;
using Roles = EventMlOps.Contracts.Roles;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>EventMlOps.Client's HTTP client is generated at build time from <c>src/Client/OpenApi/v1.json</c>; that
/// document must be the one the control plane serves, and the generated client must work against it.</summary>
public sealed class OpenApiClientTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static string Committed => Path.Combine(TestHost.RepoRoot(), "src", "Client", "OpenApi", "v1.json");

    [Fact]
    public async Task Given_the_served_openapi_document_When_compared_with_the_one_the_client_is_generated_from_Then_they_are_the_same()
    {
        using var anonymous = fx.Client();
        var served = Normalize(await anonymous.GetStringAsync("/openapi/v1.json", Ct));
        if (Environment.GetEnvironmentVariable("EMO_UPDATE_OPENAPI") == "1") await File.WriteAllTextAsync(Committed, served, Ct);

        var committed = File.Exists(Committed) ? await File.ReadAllTextAsync(Committed, Ct) : "";
        committed.ReplaceLineEndings("\n").ShouldBe(served, "the API changed: refresh the client's document with " +
            "EMO_UPDATE_OPENAPI=1 tests/ControlPlane.Tests/bin/Debug/net10.0/EventMlOps.ControlPlane.Tests -class \"*OpenApiClientTests\", then rebuild");
    }

    [Fact]
    public async Task Given_the_generated_client_When_it_registers_and_reads_a_dataset_Then_it_works_and_a_refusal_is_a_typed_problem()
    {
        var scientist = new EmoApiClient(fx.Client(Roles.Scientist, "alice"));
        var command = new RegisterDataset
        {
            CommandId = Guid.NewGuid(), DatasetId = Guid.NewGuid(), Name = "via-generated-client", Uri = "file:///data/generated.csv",
            Sha256 = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().Concat(Guid.NewGuid().ToByteArray()).ToArray()), Format = "csv",
            RowCount = 3, Schema = [new DatasetColumn { Name = "x", Type = "float" }],
        };

        var accepted = await scientist.RegisterDatasetAsync(command, Ct);
        var read = await scientist.GetDatasetAsync(command.DatasetId, cancellationToken: Ct);
        var outcome = await scientist.GetCommandOutcomeAsync(command.CommandId, Ct);

        accepted.CommandId.ShouldBe(command.CommandId);
        (read.Name, read.Sha256, read.RegisteredBy).ShouldBe((command.Name, command.Sha256, "alice"));
        outcome.State.ShouldBe("accepted");
        command.CommandId = Guid.NewGuid();
        var viewer = new EmoApiClient(fx.Client(Roles.Viewer, "victor"));
        var refused = await Should.ThrowAsync<ApiException<ProblemDetails>>(() => viewer.RegisterDatasetAsync(command, Ct));
        refused.StatusCode.ShouldBe(403);
        refused.Result.Detail.ShouldContain("needs the role 'scientist'");
    }

    /// <summary>The document without <c>servers</c> (the address it was fetched from), indented as committed.</summary>
    private static string Normalize(string json)
    {
        var doc = JsonNode.Parse(json)!.AsObject();
        doc.Remove("servers");
        return doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }).ReplaceLineEndings("\n") + "\n";
    }
}
