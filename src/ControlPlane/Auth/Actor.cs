using System.Security.Claims;

namespace EventMlOps.ControlPlane.Auth;

/// <summary>The authenticated principal behind a command; its name is recorded on every event.</summary>
public sealed record Actor(string Name, IReadOnlySet<string> Roles)
{
    public bool IsIn(string role) => Roles.Contains(role) || Roles.Contains(EventMlOps.Contracts.Roles.Admin);

    public static Actor From(ClaimsPrincipal principal) => new(
        principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? principal.FindFirstValue("sub") ?? principal.Identity?.Name ?? "unknown",
        principal.FindAll(ClaimTypes.Role).Select(c => c.Value).Concat(principal.FindAll("role").Select(c => c.Value)).ToHashSet());
}
