using EventMlOps.Agents.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.Agents.Drift;

/// <param name="PollInterval">How often every replica's new samples are read: <c>Agents:DriftPollMilliseconds</c> (5000).</param>
public sealed record DriftAgentOptions(TimeSpan PollInterval)
{
    public static DriftAgentOptions From(IConfiguration config) => new(TimeSpan.FromMilliseconds(AgentSettings.Number(config, "Agents:DriftPollMilliseconds", 5000)));
}

public static class DriftConfiguration
{
    /// <summary>The drift agent, on the serving runtime and samples keys the rollout agent registered: register after it.</summary>
    public static IServiceCollection AddDriftAgent(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(DriftAgentOptions.From(config));
        services.AddSingleton<DriftAgent>();
        services.AddHostedService(sp => sp.GetRequiredService<DriftAgent>());
        return services;
    }
}
