namespace EventMlOps.Models;

/// <summary>Where a reading falls in event time at a sampling interval: its slot, the nearest multiple of the interval
/// since the Unix epoch; and which reading stands for a slot that has none. One rule for the trainer's windows, offline
/// scoring and the stream scorer's, so all cut the same windows.</summary>
public static class EventTime
{
    public static long Slot(long timeMs, long intervalMs) => (long)Math.Floor((timeMs + intervalMs / 2.0) / intervalMs);

    /// <summary>Whether the reading at slot <paramref name="reading"/> is carried forward into the later slot
    /// <paramref name="slot"/>, which has none: at most <paramref name="fillSlots"/> slots on (a short gap is filled with the
    /// last reading). A slot no reading fills is a gap, and no window spans it. Causal, so a stream decides it as it goes.</summary>
    public static bool Carries(long reading, long slot, int fillSlots) => slot > reading && slot - reading <= fillSlots;
}
