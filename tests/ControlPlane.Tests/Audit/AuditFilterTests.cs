using EventMlOps.ControlPlane.Audit;

namespace EventMlOps.ControlPlane.Tests.Audit;

/// <summary>The audit's stream filter takes an id-keyed stream's id in either printed form, and leaves names as they are.</summary>
public class AuditFilterTests
{
    private const string Printed = "3f2b9c1e-0000-4000-8000-000000000001", Key = "3f2b9c1e000040008000000000000001";

    [Theory]
    [InlineData("run:" + Printed, "run:" + Key)]
    [InlineData("dataset:" + Printed, "dataset:" + Key)]
    [InlineData("retraining:" + Printed, "retraining:" + Key)]
    [InlineData("run:" + Key, "run:" + Key)]
    [InlineData("endpoint:" + Printed, "endpoint:" + Printed)] // an endpoint may be named like a GUID: its name is its key
    [InlineData("alarms:" + Printed, "alarms:" + Printed)]
    [InlineData("model:m@2", "model:m@2")]
    [InlineData("run:not-an-id", "run:not-an-id")]
    public void Given_a_stream_as_asked_for_When_the_filter_is_made_Then_it_names_the_stream_key(string asked, string key) =>
        AuditApi.Filter(null, asked, null, null, null, null, null).Stream.ShouldBe(key);
}
