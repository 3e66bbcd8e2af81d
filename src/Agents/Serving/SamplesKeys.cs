using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Serving;

/// <summary>The key each endpoint's replicas serve their drift samples with (<c>GET /samples</c>): HMAC-SHA256 of the
/// endpoint's name under a secret only the agents hold (<c>Agents:SamplesSecret</c>, a configuration value or a file of
/// the configuration folder), so a replica can read no other endpoint's samples and the agents need store no keys.</summary>
public sealed class SamplesKeys(byte[] secret)
{
    /// <summary>The configured secret; without one a random secret for this process, with a warning: replicas started by an
    /// earlier agents process (adopted after a restart) hold keys of another secret, so their samples cannot be read until
    /// they are restarted.</summary>
    public static SamplesKeys From(IConfiguration config, ILogger log)
    {
        if (config["Agents:SamplesSecret"] is { Length: > 0 } configured) return new SamplesKeys(Encoding.UTF8.GetBytes(configured.Trim()));
        log.LogWarning("No Agents:SamplesSecret is configured: the replicas' samples keys come from a random secret of this process, so the samples of "
                       + "replicas adopted after a restart of the agents cannot be read until those replicas are restarted");
        return new SamplesKeys(RandomNumberGenerator.GetBytes(32));
    }

    public string For(string endpoint) => Base64Url(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(endpoint)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
