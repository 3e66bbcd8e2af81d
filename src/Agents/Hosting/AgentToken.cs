using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Hosting;

/// <summary>The JWT (role <c>agent</c>) the agent puts on every fact it sends, issued to it beforehand — the agents never
/// hold the control plane's signing key, so they cannot mint a token for anyone. <c>Agents:Token</c>, or
/// <c>Agents:TokenFile</c> (e.g. written by a Vault agent), read again whenever the file changes so a rotated token is
/// picked up without a restart.</summary>
public sealed class AgentToken
{
    private readonly string? _configured;
    private readonly string? _file;
    private (DateTime Written, string Token)? _read;

    private AgentToken(string? configured, string? file) => (_configured, _file) = (configured, file);

    public static AgentToken From(IConfiguration config)
    {
        if (config["Agents:Token"] is { Length: > 0 } token) return new AgentToken(token.Trim(), null);
        if (config["Agents:TokenFile"] is { Length: > 0 } file) return new AgentToken(null, Path.GetFullPath(file));
        throw new InvalidOperationException("the agents need a token of their own (role agent): set Agents:Token or Agents:TokenFile "
                                            + "(./emo up issues one; ./emo token --role agent --name <agents> makes one by hand)");
    }

    public string Current
    {
        get
        {
            if (_configured is not null) return _configured;
            var written = File.GetLastWriteTimeUtc(_file!);
            if (_read is { } read && read.Written == written) return read.Token;
            var token = File.ReadAllText(_file!).Trim();
            _read = (written, token);
            return token;
        }
    }
}
