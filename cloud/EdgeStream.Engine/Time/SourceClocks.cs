namespace EdgeStream.Engine.Time;

/// <summary>Where a source stands relative to its task's watermark.</summary>
public enum SourceStatus : byte
{
    /// <summary>Counted in the watermark; its own watermark is at or ahead of the task's.</summary>
    Active = 0,

    /// <summary>Caught up and silent past the idle timeout: not holding the watermark back.</summary>
    Idle = 1,

    /// <summary>
    /// Came back (or appeared) with its own watermark behind the task's: its events older than the task
    /// watermark are reordered on its own clock and processed flagged <see cref="EventFlags.Behind"/>;
    /// it counts in the watermark again once its own watermark catches up.
    /// </summary>
    Behind = 2,
}

/// <summary>One source's clock within a task.</summary>
internal sealed class SourceClock<TEvent>
    where TEvent : struct
{
    public SourceClock(ulong id, SameTimeComparer<TEvent> compare)
    {
        Id = id;
        Held = new ReorderBuffer<TEvent>(compare, 1024);
    }

    public ulong Id { get; }

    public long MaxTime { get; set; } = long.MinValue;

    public long LastSeenWallUs { get; set; }

    public SourceStatus Status { get; set; } = SourceStatus.Idle;

    /// <summary>Events of a <see cref="SourceStatus.Behind"/> source older than the task watermark, waiting for the source's own watermark.</summary>
    public ReorderBuffer<TEvent> Held { get; }

    /// <summary>The source's own watermark: its newest event time less the out-of-orderness bound.</summary>
    public long OwnWatermark(long bound) => Saturating.Subtract(MaxTime, bound);
}

/// <summary>Overflow-safe arithmetic on event times, where <see cref="long.MinValue"/> means "none yet" and <see cref="long.MaxValue"/> "end of input".</summary>
internal static class Saturating
{
    public static long Subtract(long a, long b) => a < long.MinValue + b ? long.MinValue : a - b;

    public static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}

/// <summary>
/// The clocks of every source seen by one task, and the task watermark they make: the minimum of the
/// active sources' own watermarks, never moving backwards. When every source is idle the watermark moves
/// to the newest event time seen, so nothing waits in the reorder buffer for data that is not coming.
/// </summary>
internal sealed class SourceClocks<TEvent>
    where TEvent : struct
{
    private readonly Dictionary<ulong, SourceClock<TEvent>> _byId = [];
    private readonly List<SourceClock<TEvent>> _all = [];
    private readonly SameTimeComparer<TEvent> _compare;
    private readonly long _bound;
    private const int RecentSize = 64;
    private readonly SourceClock<TEvent>?[] _recent = new SourceClock<TEvent>?[RecentSize];

    public SourceClocks(long bound, SameTimeComparer<TEvent> compare)
    {
        _bound = bound;
        _compare = compare;
    }

    public long Watermark { get; set; } = long.MinValue;

    public IReadOnlyList<SourceClock<TEvent>> All => _all;

    public SourceClock<TEvent> Get(ulong id)
    {
        // Events of a partition's sources arrive interleaved: a small direct-mapped cache in front of the dictionary.
        ref var cached = ref _recent[(int)(id & (RecentSize - 1))];
        if (cached is { } hit && hit.Id == id)
        {
            return hit;
        }

        if (!_byId.TryGetValue(id, out var clock))
        {
            clock = new SourceClock<TEvent>(id, _compare);
            _byId.Add(id, clock);
            _all.Add(clock);
        }

        cached = clock;
        return clock;
    }

    /// <summary>
    /// Records an event of a source; returns true when the watermark may have to be recomputed
    /// (the source changed status, or it may have been the one holding the watermark).
    /// </summary>
    public bool Observe(SourceClock<TEvent> clock, long time, long nowUs)
    {
        clock.LastSeenWallUs = nowUs;
        if (time <= clock.MaxTime)
        {
            if (clock.Status == SourceStatus.Idle)
            {
                clock.Status = clock.OwnWatermark(_bound) >= Watermark ? SourceStatus.Active : SourceStatus.Behind;
                return true;
            }

            return false;
        }

        var before = clock.OwnWatermark(_bound);
        clock.MaxTime = time;
        var own = clock.OwnWatermark(_bound);
        switch (clock.Status)
        {
            case SourceStatus.Active:
                return before <= Watermark;
            case SourceStatus.Idle:
                clock.Status = own >= Watermark ? SourceStatus.Active : SourceStatus.Behind;
                return true;
            default:
                // A source behind the watermark releases its held events on its own clock: always recompute.
                if (own >= Watermark)
                {
                    clock.Status = SourceStatus.Active;
                }

                return true;
        }
    }

    /// <summary>Marks sources silent for at least <paramref name="idleTimeoutUs"/> idle; only call when the partition is read to its end.</summary>
    public bool MarkIdle(long nowUs, long idleTimeoutUs)
    {
        var changed = false;
        foreach (var c in _all)
        {
            if (c.Status != SourceStatus.Idle && nowUs - c.LastSeenWallUs >= idleTimeoutUs)
            {
                c.Status = SourceStatus.Idle;
                changed = true;
            }
        }

        return changed;
    }

    /// <summary>Recomputes the task watermark; returns it.</summary>
    public long Recompute()
    {
        var min = long.MaxValue;
        var anyActive = false;
        var allIdle = _all.Count > 0;
        var newest = long.MinValue;
        foreach (var c in _all)
        {
            newest = Math.Max(newest, c.MaxTime);
            if (c.Status == SourceStatus.Active)
            {
                anyActive = true;
                min = Math.Min(min, c.OwnWatermark(_bound));
            }
            else if (c.Status == SourceStatus.Behind)
            {
                allIdle = false;
            }
        }

        if (anyActive)
        {
            Watermark = Math.Max(Watermark, min);
        }
        else if (allIdle)
        {
            Watermark = Math.Max(Watermark, newest);
        }

        return Watermark;
    }

    public void Clear()
    {
        _byId.Clear();
        _all.Clear();
        Array.Clear(_recent);
        Watermark = long.MinValue;
    }
}
