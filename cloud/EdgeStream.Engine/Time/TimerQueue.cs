namespace EdgeStream.Engine.Time;

/// <summary>A registered timer: when, and which key (by state slot, with the key hash to order ties the same way in every run).</summary>
internal struct TimerEntry
{
    public long Time;
    public ulong KeyHash;
    public int Slot;

    public static bool Before(in TimerEntry a, in TimerEntry b) =>
        a.Time != b.Time ? a.Time < b.Time : a.KeyHash != b.KeyHash ? a.KeyHash < b.KeyHash : a.Slot < b.Slot;
}

/// <summary>
/// Timers of one domain of one task: a binary min-heap over a flat array ordered by (time, key hash),
/// with a set that deduplicates per key and time. Registering a timer that exists is one set lookup.
/// The heap is the truth (deletion removes from it), so a snapshot is one array copy.
/// </summary>
internal sealed class TimerQueue
{
    private TimerEntry[] _heap = new TimerEntry[256];
    private readonly HashSet<(int Slot, long Time)> _index = [];

    public int Count { get; private set; }

    public TimerEntry[] Heap => _heap;

    /// <summary>Adds a timer unless the key already has one at that time; returns whether it was added.</summary>
    public bool Add(int slot, ulong keyHash, long time)
    {
        if (!_index.Add((slot, time)))
        {
            return false;
        }

        if (Count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }

        var i = Count++;
        var entry = new TimerEntry { Time = time, KeyHash = keyHash, Slot = slot };
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!TimerEntry.Before(entry, _heap[parent]))
            {
                break;
            }

            _heap[i] = _heap[parent];
            i = parent;
        }

        _heap[i] = entry;
        return true;
    }

    /// <summary>Grows the heap and the index once for <paramref name="capacity"/> timers (restores).</summary>
    public void EnsureCapacity(int capacity)
    {
        if (_heap.Length < capacity)
        {
            Array.Resize(ref _heap, capacity);
        }

        _index.EnsureCapacity(capacity);
    }

    /// <summary>Removes a timer; returns whether it existed. Linear in the number of timers (deletion is rare).</summary>
    public bool Remove(int slot, long time)
    {
        if (!_index.Remove((slot, time)))
        {
            return false;
        }

        for (var i = 0; i < Count; i++)
        {
            if (_heap[i].Slot == slot && _heap[i].Time == time)
            {
                RemoveAt(i);
                return true;
            }
        }

        return true;
    }

    /// <summary>Whether the earliest timer is at or before <paramref name="bound"/>.</summary>
    public bool TryPeek(out TimerEntry entry)
    {
        if (Count == 0)
        {
            entry = default;
            return false;
        }

        entry = _heap[0];
        return true;
    }

    /// <summary>Removes and returns the earliest timer.</summary>
    public TimerEntry Pop()
    {
        var top = _heap[0];
        _index.Remove((top.Slot, top.Time));
        RemoveAt(0);
        return top;
    }

    public void Clear()
    {
        Count = 0;
        _index.Clear();
    }

    private void RemoveAt(int i)
    {
        var last = _heap[--Count];
        if (i == Count)
        {
            return;
        }

        // Sift the moved element down, then up (it may belong above i when i is not the root).
        while (true)
        {
            var l = (2 * i) + 1;
            if (l >= Count)
            {
                break;
            }

            var r = l + 1;
            var c = r < Count && TimerEntry.Before(_heap[r], _heap[l]) ? r : l;
            if (!TimerEntry.Before(_heap[c], last))
            {
                break;
            }

            _heap[i] = _heap[c];
            i = c;
        }

        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!TimerEntry.Before(last, _heap[parent]))
            {
                break;
            }

            _heap[i] = _heap[parent];
            i = parent;
        }

        _heap[i] = last;
    }
}
