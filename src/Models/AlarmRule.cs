namespace EventMlOps.Models;

/// <summary>A machine's alarm in progress: <paramref name="Windows"/> anomalous windows since it opened, <paramref name="Normal"/>
/// normal windows in a row since the last anomalous one; not yet <paramref name="Raised"/> while its anomalous windows in a
/// row are fewer than the rule's <see cref="AlarmRule.RaiseAfter"/>.</summary>
public readonly record struct AlarmState(int Windows, int Normal, bool Raised);

public enum AlarmChange { None, Raised, Cleared }

/// <summary>When window verdicts page someone, one rule for the stream scorer that pages and for the trainer and the scoring
/// mode that count what it would page: an alarm is raised once <paramref name="RaiseAfter"/> anomalous windows come in a
/// row (dated from the first of them: a single window over the threshold is a blip, the false-positive rate at work), and
/// cleared after <paramref name="ClearAfter"/> normal windows in a row. With 1 and 1, consecutive anomalous windows merge.</summary>
public sealed record AlarmRule(int RaiseAfter = AlarmRule.DefaultRaiseAfter, int ClearAfter = AlarmRule.DefaultClearAfter)
{
    public const int DefaultRaiseAfter = 3, DefaultClearAfter = 3;

    /// <summary>A window's verdict, everywhere: anomalous when its score is above the threshold (the threshold is the
    /// largest validation score left unflagged; NaN is never anomalous).</summary>
    public static bool Alarm(double score, double threshold) => score > threshold;

    /// <summary>The next state after one window's verdict, and whether that window raised or cleared the alarm. Pure.</summary>
    public (AlarmState? State, AlarmChange Change) Step(AlarmState? open, bool anomalous) => open switch
    {
        null when anomalous => Raising(new AlarmState(1, 0, false)),
        null => (null, AlarmChange.None),
        { Raised: false } when !anomalous => (null, AlarmChange.None),
        { Raised: false } pending => Raising(pending with { Windows = pending.Windows + 1 }),
        { } raised when anomalous => (raised with { Windows = raised.Windows + 1, Normal = 0 }, AlarmChange.None),
        { } raised when raised.Normal + 1 < ClearAfter => (raised with { Normal = raised.Normal + 1 }, AlarmChange.None),
        _ => (null, AlarmChange.Cleared),
    };

    private (AlarmState?, AlarmChange) Raising(AlarmState pending) =>
        pending.Windows < RaiseAfter ? (pending, AlarmChange.None) : (pending with { Raised = true }, AlarmChange.Raised);
}
