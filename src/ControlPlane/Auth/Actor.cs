using System.Security.Claims;
using System.Text;

namespace EventMlOps.ControlPlane.Auth;

/// <summary>The authenticated principal behind a command; its name is recorded on every event. A scoped principal has
/// no role: a trainer may only log to <see cref="Run"/>, a serving replica only read and report on <see cref="Endpoint"/>.</summary>
public sealed record Actor(string Name, IReadOnlySet<string> Roles, Guid? Run = null, string? Endpoint = null)
{
    public const string RunClaim = "run";
    public const string EndpointClaim = "endpoint";

    public bool IsScoped => Run is not null || Endpoint is not null;

    public bool IsIn(string role) => !IsScoped && (Roles.Contains(role) || Roles.Contains(EventMlOps.Contracts.Roles.Admin));

    public static Actor From(ClaimsPrincipal principal) => new(
        Normalize(principal.FindFirstValue("sub") ?? principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? principal.Identity?.Name ?? "unknown"),
        principal.FindAll(ClaimTypes.Role).Select(c => c.Value).Concat(principal.FindAll("role").Select(c => c.Value)).ToHashSet(),
        Guid.TryParse(principal.FindFirstValue(RunClaim), out var run) ? run : null,
        principal.FindFirstValue(EndpointClaim));

    /// <summary>One spelling per person: <c>Alice</c>, <c>alice </c> and <c>alice</c> are the same approver. A name with
    /// control characters, inner spaces or over 63 characters is no principal name.</summary>
    public static string Normalize(string name)
    {
        var normal = name.Normalize(NormalizationForm.FormKC).Trim().ToLowerInvariant();
        if (normal.Length is 0 or > 63 || normal.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            throw new Commanding.Unauthenticated("the token's subject is not a valid principal name (1-63 characters, no spaces or control characters)");
        return normal;
    }
}
