using System.Text.Json;
using EventMlOps.ControlPlane.Registry;

namespace EventMlOps.ControlPlane.Tests.Registry;

/// <summary><see cref="ModelVersionRegistered"/> at schema version 2 reads version 1, as histories written before hold it.</summary>
public sealed class ModelVersionSchemaTests
{
    [Fact]
    public void Given_a_version_1_registration_When_upcast_Then_its_artifact_is_one_value_and_the_rest_is_as_it_was()
    {
        using var v1 = JsonDocument.Parse("""
            {"runId": "0f8fad5b-d9cb-469f-a165-70867728950e", "metrics": {"hr@10": 0.68}, "version": 2, "datasetId": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
             "modelName": "recommender", "artifactUri": "file:///artifacts/model.onnx", "trainerKind": "recommender", "registeredAt": "2026-12-04T14:33:00.123456+00:00",
             "registeredBy": "registration-policy", "datasetSha256": "5f2b8cd1", "artifactSha256": "85e023e4", "runRequestedBy": "alice"}
            """);

        var e = ModelVersionRegistered.FromVersion1(v1);

        e.ShouldBe(new ModelVersionRegistered("recommender", 2, Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
            new ModelArtifact("file:///artifacts/model.onnx", "85e023e4"), Guid.Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7"), "5f2b8cd1",
            e.Metrics, "registration-policy", DateTimeOffset.Parse("2026-12-04T14:33:00.123456+00:00"), "alice", "recommender"));
        e.Metrics.ShouldBe(new Dictionary<string, double> { ["hr@10"] = 0.68 });
    }
}
