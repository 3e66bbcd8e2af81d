namespace EventMlOps.Models;

/// <summary>Where a reading falls in event time at a sampling interval: its slot, the nearest multiple of the interval
/// since the Unix epoch. One rule for the trainer's windows and the stream scorer's, so both cut the same windows.</summary>
public static class EventTime
{
    public static long Slot(long timeMs, long intervalMs) => (long)Math.Floor((timeMs + intervalMs / 2.0) / intervalMs);
}
