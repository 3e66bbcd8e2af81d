using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Hosting;

/// <summary>The JWT (role <c>agent</c>) the agent puts on every fact it sends: <c>Agents:Token</c> when configured
/// (e.g. from a Vault-written file), else one it issues itself with the control plane's signing key
/// (<c>Auth:SigningKey</c> or <c>$EMO_HOME/keys/signing.key</c>, as <see cref="Tokens.FromConfiguration"/> finds it),
/// re-issued before it expires.</summary>
public sealed class AgentToken
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromHours(2);

    private readonly string? _configured;
    private readonly Tokens? _issuer;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private (string Token, DateTimeOffset Expires)? _issued;

    private AgentToken(string? configured, Tokens? issuer, string name, TimeProvider time) =>
        (_configured, _issuer, Name, _time) = (configured, issuer, name, time);

    /// <summary>The subject recorded as the actor of the agent's facts (<c>Agents:Name</c>, default <c>emo-agents</c>).</summary>
    public string Name { get; }

    public static AgentToken From(IConfiguration config, TimeProvider? time = null)
    {
        var name = config["Agents:Name"] is { Length: > 0 } n ? n : "emo-agents";
        return config["Agents:Token"] is { Length: > 0 } token
            ? new AgentToken(token.Trim(), null, name, time ?? TimeProvider.System)
            : new AgentToken(null, Tokens.FromConfiguration(config), name, time ?? TimeProvider.System);
    }

    /// <summary>A token for a process the agent runs on its behalf (a serving replica), under that process's own
    /// <paramref name="name"/> — or the configured token, when one is configured.</summary>
    public string Issue(string name, TimeSpan lifetime) => _configured ?? _issuer!.Issue(name, [Roles.Agent], lifetime);

    public string Current
    {
        get
        {
            if (_configured is not null) return _configured;
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                if (_issued is not { } issued || issued.Expires - now < RenewBefore)
                    _issued = issued = (_issuer!.Issue(Name, [Roles.Agent], Lifetime), now + Lifetime);
                return issued.Token;
            }
        }
    }
}
