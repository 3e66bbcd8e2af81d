using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Kubernetes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>Settings that select and aim the Kubernetes runtime: a wrong one stops the agents with a clear reason.</summary>
public sealed class KubernetesSettingsTests
{
    private static IConfiguration Config(string key, string value) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

    [Theory]
    [InlineData("Kubernetes")]
    [InlineData("docker")]
    [InlineData("local\n")]
    public void Given_an_unknown_runtime_When_the_agents_read_it_Then_they_refuse_naming_the_choices(string runtime) =>
        Should.Throw<InvalidOperationException>(() => AgentSettings.OnKubernetes(Config("Agents:Runtime", runtime)))
            .Message.ShouldContain("use local or kubernetes");

    [Theory]
    [InlineData("../kube-system")]
    [InlineData("kube-system/secrets")]
    [InlineData("Emo")]
    [InlineData("emo\u0000")]
    [InlineData("emo\n")]
    public void Given_a_namespace_that_is_no_DNS_label_When_the_cluster_is_built_Then_it_is_refused_without_echoing_much(string ns)
    {
        using var client = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });

        Should.Throw<InvalidOperationException>(() => new KubeCluster(client, ns, KubernetesOptions.From(new ConfigurationBuilder().Build()), false, NullLoggerFactory.Instance))
            .Message.ShouldSatisfyAllConditions(m => m.ShouldContain("is not a DNS label"), m => m.Any(char.IsControl).ShouldBeFalse());
        Should.Throw<InvalidOperationException>(() => new KubeCluster(client, new string('a', 5000), KubernetesOptions.From(new ConfigurationBuilder().Build()), false, NullLoggerFactory.Instance))
            .Message.Length.ShouldBeLessThan(200);
    }
}
