using System.Numerics;

namespace EdgeStream.Engine.Time;

/// <summary>
/// Event-time timers of one task, released in (time, key hash, slot) order: a calendar queue. Timers are
/// appended, unsorted, to buckets of a fixed event-time width; a bucket is sorted once, when its first
/// timer is due, by a radix pass on (time, key hash) and a short insertion pass. Registering is O(1) and
/// firing costs a few linear passes per timer, where a binary heap pays a cache miss per level for each
/// timer (the common case of a window end shared by every key puts all of them at one time).
/// Does not deduplicate: the task does, per key.
/// </summary>
internal sealed class TimerCalendar
{
    private const int Shift = 12;
    private const int InsertionSortMax = 24;
    private readonly CalendarBuckets<Bucket> _buckets = new();
    private Bucket? _last;
    private TimerEntry[] _scratch = [];
    private int[] _counts = [];

    /// <summary>Pending timers.</summary>
    public int Count { get; private set; }

    /// <summary>Time of the earliest pending timer, <see cref="long.MaxValue"/> when none.</summary>
    public long NextTime { get; private set; } = long.MaxValue;

    /// <summary>Adds a timer (the caller has checked it is not a duplicate).</summary>
    public void Add(int slot, ulong keyHash, long time)
    {
        var id = time >> Shift;
        var b = (_last is { } last && last.Id == id ? last : _buckets.Find(id)) ?? _buckets.Open(id);
        _last = b;
        var entry = new TimerEntry { Time = time, KeyHash = keyHash, Slot = slot };
        if (b.Sorted)
        {
            b.InsertAt(SortedPosition(b, entry), entry);
        }
        else
        {
            b.Append(entry);
            b.MinTime = Math.Min(b.MinTime, time);
        }

        Count++;
        if (time < NextTime)
        {
            NextTime = time;
        }
    }

    /// <summary>Removes a timer; returns whether it existed. Linear in its bucket (deletion is rare).</summary>
    public bool Remove(int slot, long time)
    {
        if (_buckets.Find(time >> Shift) is not { } b)
        {
            return false;
        }

        for (var i = b.Head; i < b.Tail; i++)
        {
            if (b.Entries[i].Slot == slot && b.Entries[i].Time == time)
            {
                Array.Copy(b.Entries, i + 1, b.Entries, i, b.Tail - i - 1);
                b.Tail--;
                Count--;
                if (!b.Sorted && time == b.MinTime)
                {
                    b.MinTime = long.MaxValue;
                    for (var k = b.Head; k < b.Tail; k++)
                    {
                        b.MinTime = Math.Min(b.MinTime, b.Entries[k].Time);
                    }
                }

                if (time == NextTime)
                {
                    RefreshNextTime();
                }

                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The slot of the timer <paramref name="distance"/> places behind the earliest, when it is in the bucket
    /// being fired (to prefetch its key's state); false otherwise.
    /// </summary>
    public bool TryPeekAhead(int distance, out int slot)
    {
        if (_buckets.Current is { Sorted: true } b && b.Head + distance < b.Tail)
        {
            slot = b.Entries[b.Head + distance].Slot;
            return true;
        }

        slot = 0;
        return false;
    }

    /// <summary>Removes and returns the earliest timer; only when <see cref="Count"/> &gt; 0.</summary>
    public TimerEntry Pop()
    {
        EnsureCurrent();
        var b = _buckets.Current!;
        var top = b.Entries[b.Head++];
        Count--;
        if (b.Head < b.Tail)
        {
            NextTime = b.Entries[b.Head].Time;
        }
        else
        {
            RefreshNextTime();
        }

        return top;
    }

    /// <summary>Copies every pending timer, in no particular order, into <paramref name="target"/> (grown as needed); returns the count.</summary>
    public int CopyTo(ref TimerEntry[] target)
    {
        if (target.Length < Count)
        {
            target = new TimerEntry[Math.Max(Count, target.Length * 2)];
        }

        var n = 0;
        foreach (var b in _buckets.All)
        {
            Array.Copy(b.Entries, b.Head, target, n, b.Tail - b.Head);
            n += b.Tail - b.Head;
        }

        return n;
    }

    public void Clear()
    {
        _buckets.Clear();
        _last = null;
        Count = 0;
        NextTime = long.MaxValue;
    }

    private void RefreshNextTime()
    {
        if (Count == 0)
        {
            NextTime = long.MaxValue;
            return;
        }

        EnsureHead();
        var b = _buckets.Current ?? _buckets.PeekWaiting();
        NextTime = b.Sorted ? b.Entries[b.Head].Time : b.MinTime;
    }

    /// <summary>Drops emptied buckets from the front, leaving the earliest non-empty one current or first in line.</summary>
    private void EnsureHead()
    {
        while (true)
        {
            if (_buckets.Current is { } cur)
            {
                if (cur.Head < cur.Tail)
                {
                    return;
                }

                Release(cur);
                _buckets.Current = null;
            }

            if (!_buckets.TryPeekWaiting(out var next))
            {
                return;
            }

            if (next.Head < next.Tail)
            {
                return;
            }

            _buckets.DequeueWaiting();
            Release(next);
        }
    }

    private void EnsureCurrent()
    {
        EnsureHead();
        if (_buckets.Current is null)
        {
            var next = _buckets.DequeueWaiting();
            if (!next.Sorted)
            {
                Sort(next);
            }

            _buckets.Current = next;
        }
    }

    private void Release(Bucket b)
    {
        if (_last == b)
        {
            _last = null;
        }

        _buckets.Release(b);
    }

    private static int SortedPosition(Bucket b, in TimerEntry entry)
    {
        var lo = b.Head;
        var hi = b.Tail;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (TimerEntry.Before(b.Entries[mid], entry))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>
    /// Sorts a bucket by (time, key hash, slot): one counting pass on the leading bits of a 64-bit key made
    /// of the time's offset above the key hash's leading bits (so equal times fall back to well-mixed hash
    /// bits and spread evenly), then an insertion sort of each small group with the full order.
    /// </summary>
    private void Sort(Bucket b)
    {
        var n = b.Tail - b.Head;
        var items = b.Entries.AsSpan(b.Head, n);
        if (n <= InsertionSortMax)
        {
            InsertionSort(items);
            b.Sorted = true;
            return;
        }

        var min = long.MaxValue;
        var max = long.MinValue;
        foreach (ref readonly var e in items)
        {
            min = Math.Min(min, e.Time);
            max = Math.Max(max, e.Time);
        }

        var timeBits = 64 - BitOperations.LeadingZeroCount((ulong)(max - min));
        var digitBits = Math.Clamp(BitOperations.Log2((uint)n), 4, 16);
        var digitShift = 64 - digitBits;
        if (_counts.Length < (1 << digitBits) + 1)
        {
            _counts = new int[(1 << digitBits) + 1];
        }

        if (_scratch.Length < b.Entries.Length)
        {
            _scratch = new TimerEntry[b.Entries.Length];
        }

        var counts = _counts.AsSpan(0, (1 << digitBits) + 1);
        counts.Clear();
        foreach (ref readonly var e in items)
        {
            counts[(int)(SortKey(e, min, timeBits) >> digitShift) + 1]++;
        }

        for (var i = 1; i < counts.Length; i++)
        {
            counts[i] += counts[i - 1];
        }

        var to = _scratch;
        foreach (ref readonly var e in items)
        {
            to[counts[(int)(SortKey(e, min, timeBits) >> digitShift)]++] = e;
        }

        // After the pass counts[d] is the end of digit d's group; each group is small with mixed keys.
        var start = 0;
        for (var d = 0; d < counts.Length - 1; d++)
        {
            var end = counts[d];
            if (end - start > 1)
            {
                var group = to.AsSpan(start, end - start);
                if (group.Length <= InsertionSortMax)
                {
                    InsertionSort(group);
                }
                else
                {
                    group.Sort(static (x, y) => TimerEntry.Before(x, y) ? -1 : TimerEntry.Before(y, x) ? 1 : 0);
                }
            }

            start = end;
        }

        (b.Entries, _scratch) = (to, b.Entries);
        b.Head = 0;
        b.Tail = n;
        b.Sorted = true;
    }

    private static ulong SortKey(in TimerEntry e, long min, int timeBits) =>
        timeBits == 0 ? e.KeyHash : ((ulong)(e.Time - min) << (64 - timeBits)) | (e.KeyHash >> timeBits);

    private static void InsertionSort(Span<TimerEntry> items)
    {
        for (var k = 1; k < items.Length; k++)
        {
            var e = items[k];
            var m = k - 1;
            while (m >= 0 && TimerEntry.Before(e, items[m]))
            {
                items[m + 1] = items[m];
                m--;
            }

            items[m + 1] = e;
        }
    }

    private sealed class Bucket : CalendarBucket
    {
        public TimerEntry[] Entries = new TimerEntry[8];

        /// <summary>Earliest time in the bucket while it is unsorted.</summary>
        public long MinTime;

        public override void Reset() => MinTime = long.MaxValue;

        public void Append(in TimerEntry e)
        {
            if (Tail == Entries.Length)
            {
                MakeRoom();
            }

            Entries[Tail++] = e;
        }

        public void InsertAt(int at, in TimerEntry e)
        {
            if (Tail == Entries.Length)
            {
                var shift = Head;
                MakeRoom();
                at -= shift - Head;
            }

            Array.Copy(Entries, at, Entries, at + 1, Tail - at);
            Entries[at] = e;
            Tail++;
        }

        private void MakeRoom()
        {
            if (Head > Entries.Length / 2)
            {
                Array.Copy(Entries, Head, Entries, 0, Tail - Head);
                Tail -= Head;
                Head = 0;
            }
            else
            {
                Array.Resize(ref Entries, Entries.Length * 2);
            }
        }
    }
}
