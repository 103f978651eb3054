using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// The floor loops' event-time timers: one list of state slots per timer time, taken in time order. Slots
/// fire in the order their timers were registered (the floors' outputs are compared as sets).
/// </summary>
internal sealed class FloorTimers
{
    private readonly Dictionary<long, List<int>> _byTime = [];
    private readonly PriorityQueue<long, long> _times = new();

    /// <summary>The earliest pending timer time; <see cref="long.MaxValue"/> when none.</summary>
    public long Next { get; private set; } = long.MaxValue;

    public void Add(long time, int slot)
    {
        if (!_byTime.TryGetValue(time, out var slots))
        {
            _byTime[time] = slots = [];
            _times.Enqueue(time, time);
            Next = Math.Min(Next, time);
        }

        slots.Add(slot);
    }

    /// <summary>
    /// Takes the slots of the earliest timer time at or before <paramref name="upTo"/>, if any. <see cref="Next"/>
    /// has moved on when this returns, so the caller may register timers while it fires them.
    /// </summary>
    public bool TryTakeDue(long upTo, out long time, out List<int> slots)
    {
        if (_times.Count == 0 || Next > upTo)
        {
            time = 0;
            slots = [];
            return false;
        }

        time = _times.Dequeue();
        slots = _byTime[time];
        _byTime.Remove(time);
        Next = _times.TryPeek(out _, out var next) ? next : long.MaxValue;
        return true;
    }

    /// <summary>The state table grew: the slot that was <c>i</c> is now <c>moved[i]</c>.</summary>
    public void MoveSlots(int[] moved)
    {
        foreach (var slots in _byTime.Values)
        {
            for (var i = 0; i < slots.Count; i++)
            {
                slots[i] = moved[slots[i]];
            }
        }
    }

    /// <summary>Starts to load the cache line at <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch<T>(ref T at)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref at));
        }
    }
}
