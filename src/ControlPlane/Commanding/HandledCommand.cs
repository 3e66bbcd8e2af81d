using EventMlOps.Contracts.Views;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>Marks a command as handled, in the same transaction as its events, with a digest of the command (an id
/// reused for another command is told apart from a retry) and the answer it got (a retry gets the same).</summary>
public sealed record HandledCommand(Guid Id, string Type, string Actor, DateTimeOffset At, string? Fingerprint = null)
{
    /// <summary>Set by the handler before the transaction commits (<see cref="Deciding.Answered"/>).</summary>
    public CommandAccepted? Answer { get; set; }
}
