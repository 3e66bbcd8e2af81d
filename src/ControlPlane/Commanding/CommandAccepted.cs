namespace EventMlOps.ControlPlane.Commanding;

/// <summary>What a handled command answers: the stream it wrote to, its version afterwards, and how
/// many events were appended (0 when the command changed nothing).</summary>
public sealed record CommandAccepted(Guid CommandId, string Stream, long Version, int Appended, bool Duplicate = false);

/// <summary>Marks a command as handled, in the same transaction as its events.</summary>
public sealed record HandledCommand(Guid Id, string Type, string Actor, DateTimeOffset At);
