namespace EventMlOps.Contracts.Environments;

/// <summary>Brings a rebuilt environment to life: sent to a control plane whose store was just given the history up to
/// <paramref name="UntilSequence"/> (an import; its last event), it records who restored that history from where
/// (<paramref name="Source"/>, e.g. the source control plane's URL; <paramref name="HistoryHead"/>, the export's last chain
/// hash) and sends the agents the desired state of every endpoint that history left live. Old work orders are never replayed:
/// what the agents get is the present desired state, with fresh grants.</summary>
[SentBy(Roles.Admin)]
public sealed record RestoreEnvironment(Guid CommandId, long UntilSequence, string HistoryHead, string Source) : ICommand;
