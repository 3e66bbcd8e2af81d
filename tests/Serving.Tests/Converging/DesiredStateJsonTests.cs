using System.Text.Json;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Hosting;
using EventMlOps.Serving.Converging;

namespace EventMlOps.Serving.Tests.Converging;

public class DesiredStateJsonTests
{
    [Fact]
    public void Given_a_desired_state_with_a_drift_policy_as_the_control_plane_writes_it_When_parsed_Then_its_tests_come_through()
    {
        // The control plane writes the wire format (WireJson: enums by name); a replica that could not read a policy's
        // per-feature test stopped following its endpoint at the first policy with one.
        var wire = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        WireJson.Configure(wire);
        var policy = new DriftPolicy(new Dictionary<string, DriftTest> { ["error"] = new(DriftMethod.Psi, 0.25) });
        var desired = new ApplyEndpoint("sensors", 7, [new ServedVersion("sensors", 1, "file:///m.onnx", new string('a', 64), 100)], 1, 1, Drift: policy);

        var parsed = DesiredState.Parse(JsonSerializer.Serialize(desired, wire));

        parsed.Revision.ShouldBe(7);
        parsed.Drift!.Features!["error"].ShouldBe(new DriftTest(DriftMethod.Psi, 0.25));
    }
}
