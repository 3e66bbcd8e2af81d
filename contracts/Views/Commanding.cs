namespace EventMlOps.Contracts.Views;

/// <summary>What a handled command answers: the stream it wrote to, its version afterwards, and how
/// many events were appended (0 when the command changed nothing).</summary>
public sealed record CommandAccepted(Guid CommandId, string Stream, long Version, int Appended, bool Duplicate = false);

/// <summary>What became of a command (<c>GET /api/commands/{id}</c>): <c>accepted</c> with the stream and version it wrote,
/// or <c>refused</c> with the status and reason an HTTP caller would have got — how a bus publisher learns the outcome.</summary>
public sealed record CommandOutcome(Guid CommandId, string Type, string State, string? Stream = null, long? Version = null, int? Appended = null,
    int? Status = null, string? Reason = null);
