using System.Text.Json;

namespace EventMlOps.Contracts.Views;

/// <summary>One event as the audit trail shows it: when, what, where, who, and why (correlation/causation).</summary>
public sealed record AuditEntry(long Sequence, DateTimeOffset Timestamp, string Type, string Stream, long Version, string? Actor,
    string? CorrelationId, string? CausationId, JsonElement Data);
