namespace EventMlOps.ControlPlane.Commanding;

/// <summary>What a handled command answers: the stream it wrote to, its version afterwards, and how
/// many events were appended (0 when the command changed nothing).</summary>
public sealed record CommandAccepted(Guid CommandId, string Stream, long Version, int Appended, bool Duplicate = false);

/// <summary>Marks a command as handled, in the same transaction as its events, with a digest of the command (an id
/// reused for another command is told apart from a retry) and the answer it got (a retry gets the same).</summary>
public sealed record HandledCommand(Guid Id, string Type, string Actor, DateTimeOffset At, string? Fingerprint = null)
{
    /// <summary>Set by the handler before the transaction commits (<see cref="Deciding.Answered"/>).</summary>
    public CommandAccepted? Answer { get; set; }
}
