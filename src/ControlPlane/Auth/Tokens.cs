using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EventMlOps.ControlPlane.Auth;

/// <summary>JWT settings shared by the HTTP API, the bus gate and the development token issuer. Tokens are signed with
/// the current key and carry its id (<c>kid</c>); the previous keys still validate, so a key can be rotated without
/// cutting off every holder at once (see SECURITY.md). Keys come from configuration (<c>Auth:SigningKey</c>, base64, or
/// <c>Auth:SigningKeyFile</c>, a file holding it; and <c>Auth:PreviousSigningKeys</c>, ';'-separated) or the key folder (<c>Auth:KeysFolder</c>, default
/// <c>$EMO_HOME/keys</c>: <c>signing.key</c>, created 0600 in a 0700 folder on first use, and <c>previous/*.key</c>).
/// Only the control plane and the local CLI hold them; agents, replicas and trainers get tokens, never keys.</summary>
public sealed class Tokens
{
    public const string Issuer = "eventmlops";
    public const string Audience = "eventmlops";
    public const string KeyFile = "signing.key";
    public const string PreviousFolder = "previous";

    /// <summary>A work-order grant's scope (<c>run:{id}</c>, <c>endpoint:{name}</c>); a token carrying it is no bearer token.</summary>
    public const string GrantClaim = "grant";

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly SymmetricSecurityKey _current;
    private readonly IReadOnlyList<SymmetricSecurityKey> _all;

    public Tokens(byte[] key, params byte[][] previous)
    {
        _current = Key(key);
        _all = [_current, .. previous.Select(Key)];
    }

    public TokenValidationParameters Validation => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKeys = _all,
        NameClaimType = "sub",
        RoleClaimType = "role",
        ClockSkew = TimeSpan.FromSeconds(30),
    };

    public string Issue(string name, IEnumerable<string> roles, TimeSpan lifetime) =>
        Create(new Dictionary<string, object> { ["sub"] = Actor.Normalize(name), ["role"] = roles.ToArray() }, lifetime);

    /// <summary>A token that authorises tracking calls for one run only (no role): the agent hands it to the trainer.</summary>
    public string IssueForRun(Guid runId, TimeSpan lifetime) =>
        Create(new Dictionary<string, object> { ["sub"] = $"trainer-{runId:N}", [Actor.RunClaim] = runId.ToString("N") }, lifetime);

    /// <summary>A serving replica's token (no role): its endpoint's desired state and observed-state reports only.</summary>
    public string IssueForReplica(string endpoint, string replica, TimeSpan lifetime) =>
        Create(new Dictionary<string, object> { ["sub"] = Actor.Normalize(replica), [Actor.EndpointClaim] = endpoint }, lifetime);

    /// <summary>The grant a work order carries: proof, with an agent's own token, that the agent was given that work.</summary>
    public string IssueGrant(string scope, TimeSpan lifetime) =>
        Create(new Dictionary<string, object> { ["sub"] = "work-order", [GrantClaim] = scope }, lifetime);

    private string Create(Dictionary<string, object> claims, TimeSpan lifetime) => _handler.CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Audience,
        Claims = claims,
        Expires = DateTime.UtcNow.Add(lifetime),
        SigningCredentials = new SigningCredentials(_current, SecurityAlgorithms.HmacSha256),
    });

    public async Task<Actor> AuthenticateAsync(string? token)
    {
        if (string.IsNullOrWhiteSpace(token))
            throw new Commanding.Unauthenticated("no bearer token");
        var identity = await ValidateAsync(token);
        if (identity.HasClaim(c => c.Type == GrantClaim))
            throw new Commanding.Unauthenticated("a work-order grant is not a bearer token");
        return Actor.From(new ClaimsPrincipal(identity));
    }

    /// <summary>The scope of a valid grant, or null when there is none.</summary>
    public async Task<string?> GrantScopeAsync(string? grant)
    {
        if (string.IsNullOrWhiteSpace(grant)) return null;
        return (await ValidateAsync(grant)).FindFirst(GrantClaim)?.Value
            ?? throw new Commanding.Unauthenticated("the grant is a bearer token, not a work-order grant");
    }

    private async Task<ClaimsIdentity> ValidateAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, Validation);
        return result.IsValid ? result.ClaimsIdentity : throw new Commanding.Unauthenticated(Explain(result.Exception));
    }

    /// <summary>Why a token was refused, in words that reveal nothing of the validator's internals or the keys.</summary>
    public static string Explain(Exception? failure) => failure switch
    {
        SecurityTokenExpiredException e => string.Create(CultureInfo.InvariantCulture,
            $"the token expired at {e.Expires:yyyy-MM-dd HH:mm:ss}Z; ./emo token --role <role> --name <you> issues a new one (an admin runs it)"),
        SecurityTokenNotYetValidException => "the token is not valid yet",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "the token's signature does not match this control plane's keys",
        SecurityTokenInvalidIssuerException or SecurityTokenInvalidAudienceException => "the token was issued for another service",
        SecurityTokenMalformedException or ArgumentException => "the token is malformed",
        Commanding.Unauthenticated u => u.Message,
        _ => "the token is not valid",
    };

    /// <summary>Loads the keys from configuration, or from the key folder (creating the current key when missing).</summary>
    public static Tokens FromConfiguration(IConfiguration configuration)
    {
        byte[][] Previous() => [.. (configuration["Auth:PreviousSigningKeys"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Convert.FromBase64String)];
        if (configuration["Auth:SigningKey"] is { Length: > 0 } inline)
            return new Tokens(Convert.FromBase64String(inline), Previous());
        // A file someone else writes (a Vault agent): read, never created.
        if (configuration["Auth:SigningKeyFile"] is { Length: > 0 } file)
            return File.Exists(file)
                ? new Tokens(ReadKeyFile(file), Previous())
                : throw new InvalidOperationException($"Auth:SigningKeyFile names {file}, which does not exist (was the key rendered?)");
        var folder = KeysFolder(configuration);
        return new Tokens(LoadOrCreateKeyFile(Path.Combine(folder, KeyFile)), [.. PreviousKeyFiles(folder).Select(ReadKeyFile)]);
    }

    public static string KeysFolder(IConfiguration configuration) =>
        configuration["Auth:KeysFolder"] is { Length: > 0 } folder ? Path.GetFullPath(folder) : Path.Combine(EmoHome.Resolve(configuration), "keys");

    public static IEnumerable<string> PreviousKeyFiles(string folder) =>
        Directory.Exists(Path.Combine(folder, PreviousFolder)) ? Directory.EnumerateFiles(Path.Combine(folder, PreviousFolder), "*.key").Order() : [];

    public static byte[] LoadOrCreateKeyFile(string file)
    {
        if (File.Exists(file))
            return ReadKeyFile(file);
        var key = RandomNumberGenerator.GetBytes(32);
        WritePrivate(file, Convert.ToBase64String(key));
        return key;
    }

    /// <summary>Rotation: the current key moves to <c>previous/</c> (still accepted), a new one signs from now on.
    /// Returns the new key's id.</summary>
    public static string Rotate(string folder)
    {
        var current = Path.Combine(folder, KeyFile);
        if (File.Exists(current))
        {
            var old = ReadKeyFile(current);
            var previous = Path.Combine(folder, PreviousFolder, $"{KeyId(old)}.key");
            EmoHome.CreatePrivateFolder(Path.GetDirectoryName(previous)!);
            File.Move(current, previous, overwrite: true);
        }
        return KeyId(LoadOrCreateKeyFile(current));
    }

    /// <summary>Creates <paramref name="file"/> readable by its owner only from its first byte on (never briefly
    /// world-readable), in a folder only its owner can enter.</summary>
    public static void WritePrivate(string file, string content)
    {
        EmoHome.CreatePrivateFolder(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var temp = $"{file}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
            stream.Write(Encoding.UTF8.GetBytes(content));
        File.Move(temp, file, overwrite: true);
    }

    private static byte[] ReadKeyFile(string file) => Convert.FromBase64String(File.ReadAllText(file).Trim());

    /// <summary>A key's id: a digest of the key under a label, so it names the key without revealing it.</summary>
    public static string KeyId(byte[] key) =>
        Convert.ToHexStringLower(SHA256.HashData([.. "eventmlops/kid/"u8, .. key]))[..16];

    private static SymmetricSecurityKey Key(byte[] key) => new(key) { KeyId = KeyId(key) };
}
