using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Serving;

namespace EventMlOps.Agents.Tests.Serving;

public class ReplicaNameTests
{
    [Theory]
    [InlineData("recommender", "serve-recommender")]
    [InlineData("sensors-eu", "serve-sensors-eu")]
    public void Given_an_endpoint_that_is_a_dns_label_When_named_Then_its_replica_is_serve_and_its_name(string endpoint, string replica) =>
        LocalServingRuntime.ReplicaName(endpoint).ShouldBe(replica);

    [Fact]
    public void Given_endpoints_that_are_not_dns_labels_When_named_Then_each_gets_a_distinct_valid_name()
    {
        string[] endpoints = ["rec.v2", "rec_v2", "rec-v2", new string('a', 63)];

        var names = endpoints.Select(LocalServingRuntime.ReplicaName).ToList();

        names.ShouldBeUnique();
        names.ShouldAllBe(n => JobSpec.ValidName(n) == n);
        names[0].ShouldStartWith("serve-rec-v2-");
    }
}
