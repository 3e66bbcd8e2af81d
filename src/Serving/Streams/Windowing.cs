using EventMlOps.Models;

namespace EventMlOps.Serving.Streams;

/// <summary>The windows a model was trained on, in event time: <see cref="Steps"/> readings <see cref="IntervalMs"/> apart,
/// one window starting every <see cref="Stride"/> readings; a reading may arrive up to <see cref="LatenessMs"/> behind the
/// newest of its machine; a slot without a reading is filled with the last one up to <see cref="FillSlots"/> slots on
/// (<see cref="EventTime.Carries"/>, as the trainer filled its gaps).</summary>
public sealed record StreamShape(int Steps, int Stride, int Features, long IntervalMs, long LatenessMs, int FillSlots = 0)
{
    /// <summary>The slot a time falls in (<see cref="EventTime.Slot"/>, as the trainer places readings): windows are aligned
    /// to the epoch, so every replica and every restart cuts the same windows.</summary>
    public long Slot(long timeMs) => EventTime.Slot(timeMs, IntervalMs);

    public long FloorToStride(long slot) => (long)Math.Floor((double)slot / Stride) * Stride;

    public DateTimeOffset TimeOf(long slot) => DateTimeOffset.FromUnixTimeMilliseconds(slot * IntervalMs);
}

public enum Placement { Placed, Duplicate, Late }

/// <summary>A window whose last reading passed the watermark: its readings time-major (null when a slot stayed empty: not scored).</summary>
public sealed record ClosedWindow(long StartSlot, float[]? Readings);

/// <summary>One machine's event-time windows (kept durably between batches): the readings of the windows still open,
/// the newest event time seen, where the next window starts, its open anomaly episode and its counters. Deterministic:
/// the same readings in the same order always cut and close the same windows.</summary>
public sealed class MachineWindows
{
    /// <summary>Newest event time seen (Unix ms); the watermark is this less the allowed lateness.</summary>
    public long MaxTime { get; set; } = long.MinValue;

    /// <summary>The first slot of the next window to close; set by the first reading.</summary>
    public long NextStart { get; set; } = long.MinValue;

    public SortedDictionary<long, float[]> Slots { get; set; } = [];

    public OpenEpisode? Episode { get; set; }

    /// <summary>Readings placed, late ones dropped, windows scored and left incomplete, over the machine's life.</summary>
    public long Readings { get; set; }
    public long Late { get; set; }
    public long Scored { get; set; }
    public long Incomplete { get; set; }

    public long Watermark(StreamShape shape) => MaxTime == long.MinValue ? long.MinValue : MaxTime - shape.LatenessMs;

    /// <summary>Places a reading in its slot. Late: older than the watermark, or only in windows already closed (nothing
    /// changes); a second reading for a slot is a duplicate, and replaces the first (as the trainer keeps the later one).</summary>
    public Placement Add(long timeMs, float[] values, StreamShape shape)
    {
        var slot = shape.Slot(timeMs);
        // The first window may begin up to the lateness before the first reading: earlier readings may still come.
        if (NextStart == long.MinValue) NextStart = shape.FloorToStride(shape.Slot(timeMs - shape.LatenessMs));
        if (timeMs < Watermark(shape) || slot < NextStart)
        {
            Late++;
            return Placement.Late;
        }
        if (!Slots.TryAdd(slot, values))
        {
            Slots[slot] = values;
            return Placement.Duplicate;
        }
        Readings++;
        MaxTime = Math.Max(MaxTime, timeMs);
        return Placement.Placed;
    }

    /// <summary>Closes, in order, every window whose last slot the watermark passed. Windows before the first reading held
    /// have no data and are skipped, so that a jump in event time costs nothing.</summary>
    public List<ClosedWindow> Close(StreamShape shape)
    {
        var closed = new List<ClosedWindow>();
        if (MaxTime == long.MinValue) return closed;
        var watermarkSlot = (long)Math.Floor((double)Watermark(shape) / shape.IntervalMs);
        while (NextStart + shape.Steps - 1 <= watermarkSlot)
        {
            if (Slots.Count == 0 || Slots.Keys.First() >= NextStart + shape.Steps)
            {
                // No reading in this window: go straight to the first window that holds one, or past the watermark.
                var first = Slots.Count > 0 ? Slots.Keys.First() : watermarkSlot + 1;
                NextStart = Math.Max(NextStart + shape.Stride, -shape.FloorToStride(shape.Steps - 1 - first));
                continue;
            }
            closed.Add(new ClosedWindow(NextStart, Cut(shape)));
            if (closed[^1].Readings is null) Incomplete++;
            NextStart += shape.Stride;
            // Of the readings before the next window only the last may fill its first slots: it stays while it carries.
            while (Slots.Count > 0 && Slots.Keys.First() is var first && first < NextStart
                   && (Slots.Keys.Skip(1).FirstOrDefault(long.MaxValue) < NextStart || !EventTime.Carries(first, NextStart, shape.FillSlots)))
                Slots.Remove(first);
        }
        return closed;
    }

    /// <summary>The window from <see cref="NextStart"/>: each slot's reading, or the last earlier one where it carries; null
    /// when a slot has neither.</summary>
    private float[]? Cut(StreamShape shape)
    {
        var window = new float[shape.Steps * shape.Features];
        (long Slot, float[] Values)? last = null;
        foreach (var (slot, values) in Slots)
        {
            if (slot >= NextStart + shape.Steps) break;
            if (slot < NextStart) last = (slot, values);
        }
        for (var s = NextStart; s < NextStart + shape.Steps; s++)
        {
            if (Slots.TryGetValue(s, out var values)) last = (s, values);
            else if (last is not { } carried || !EventTime.Carries(carried.Slot, s, shape.FillSlots)) return null;
            last!.Value.Values.CopyTo(window, (s - NextStart) * shape.Features);
        }
        return window;
    }
}
