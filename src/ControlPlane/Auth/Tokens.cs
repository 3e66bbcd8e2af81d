using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EventMlOps.ControlPlane.Auth;

/// <summary>JWT settings shared by the HTTP API, the bus gate and the development token issuer.
/// The key comes from configuration (<c>Auth:SigningKey</c>, base64) or a key file
/// (<c>Auth:SigningKeyFile</c>, default <c>$EMO_HOME/keys/signing.key</c>, created on first use).
/// Production deployments replace it with an OIDC authority.</summary>
public sealed class Tokens
{
    public const string Issuer = "eventmlops";
    public const string Audience = "eventmlops";

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public Tokens(byte[] key) => Key = new SymmetricSecurityKey(key);

    public SymmetricSecurityKey Key { get; }

    public TokenValidationParameters Validation => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = Key,
        NameClaimType = "sub",
        RoleClaimType = "role",
        ClockSkew = TimeSpan.FromSeconds(30),
    };

    public string Issue(string name, IEnumerable<string> roles, TimeSpan lifetime) =>
        Create(new Dictionary<string, object> { ["sub"] = name, ["role"] = roles.ToArray() }, lifetime);

    /// <summary>A token that authorises tracking calls for one run only (no role): the agent hands it to the trainer.</summary>
    public string IssueForRun(Guid runId, TimeSpan lifetime) =>
        Create(new Dictionary<string, object> { ["sub"] = $"trainer-{runId:N}", [Actor.RunClaim] = runId.ToString("N") }, lifetime);

    private string Create(Dictionary<string, object> claims, TimeSpan lifetime) => _handler.CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Audience,
        Claims = claims,
        Expires = DateTime.UtcNow.Add(lifetime),
        SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
    });

    public async Task<Actor> AuthenticateAsync(string? token)
    {
        if (string.IsNullOrWhiteSpace(token))
            throw new Commanding.Unauthenticated("no bearer token");
        var result = await _handler.ValidateTokenAsync(token, Validation);
        if (!result.IsValid)
            throw new Commanding.Unauthenticated($"invalid token: {result.Exception?.Message}");
        return Actor.From(new ClaimsPrincipal(result.ClaimsIdentity));
    }

    /// <summary>Loads the key from configuration, or from the key file (creating it when missing).</summary>
    public static Tokens FromConfiguration(IConfiguration configuration)
    {
        if (configuration["Auth:SigningKey"] is { Length: > 0 } inline)
            return new Tokens(Convert.FromBase64String(inline));
        var file = configuration["Auth:SigningKeyFile"] ?? Path.Combine(EmoHome.Resolve(configuration), "keys", "signing.key");
        return new Tokens(LoadOrCreateKeyFile(file));
    }

    public static byte[] LoadOrCreateKeyFile(string file)
    {
        if (File.Exists(file))
            return Convert.FromBase64String(File.ReadAllText(file).Trim());
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var key = RandomNumberGenerator.GetBytes(32);
        File.WriteAllText(file, Convert.ToBase64String(key));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return key;
    }
}

/// <summary>Where local state lives (<c>EMO_HOME</c>, default <c>./.emo</c>).</summary>
public static class EmoHome
{
    public static string Resolve(IConfiguration? configuration = null) =>
        Path.GetFullPath(configuration?["EMO_HOME"] ?? Environment.GetEnvironmentVariable("EMO_HOME") ?? ".emo");
}
