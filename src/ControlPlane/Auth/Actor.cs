using System.Security.Claims;

namespace EventMlOps.ControlPlane.Auth;

/// <summary>The authenticated principal behind a command; its name is recorded on every event. A run-scoped
/// principal (a trainer) has no role and may only log to <see cref="Run"/>.</summary>
public sealed record Actor(string Name, IReadOnlySet<string> Roles, Guid? Run = null)
{
    public const string RunClaim = "run";

    public bool IsIn(string role) => Roles.Contains(role) || Roles.Contains(EventMlOps.Contracts.Roles.Admin);

    /// <summary>Whether this principal may act on <paramref name="runId"/> with a command needing <paramref name="role"/>.</summary>
    public bool MayActOnRun(Guid runId, string role) => Run is { } scoped ? scoped == runId : IsIn(role);

    public static Actor From(ClaimsPrincipal principal) => new(
        principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? principal.FindFirstValue("sub") ?? principal.Identity?.Name ?? "unknown",
        principal.FindAll(ClaimTypes.Role).Select(c => c.Value).Concat(principal.FindAll("role").Select(c => c.Value)).ToHashSet(),
        Guid.TryParse(principal.FindFirstValue(RunClaim), out var run) ? run : null);
}
