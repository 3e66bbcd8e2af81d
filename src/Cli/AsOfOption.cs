using System.CommandLine;

namespace EventMlOps.Cli;

/// <summary><c>--as-of</c>: a point in history, passed to the API as is (it parses an ISO 8601 time or a global event sequence).</summary>
public static class AsOfOption
{
    public static Option<string?> Create() =>
        new("--as-of") { Description = "Answer as of a time (ISO 8601, e.g. 2026-01-02T14:03:00Z) or a global event sequence number" };
}
