using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using EdgeStream.Engine.State;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// The engine benchmark's work written by hand for its one job, as a floor for the engine's figure: per-source
/// bounded out-of-orderness watermarks (the minimum over the sources seen), a calendar of 1,024 µs reorder
/// buckets released once the watermark passes them, each ordered by a counting sort on time and an insertion
/// tie-break on (source, sequence) that drops duplicates, per-key state (count, newest time) in a chained hash
/// table with the chunk's lookups issued together, one one-second window timer per key deduplicated on the key,
/// timers fired once every event at or before them is processed, and the count emitted per firing.
/// </summary>
/// <remarks>
/// It knows its event type, its key, its only timer (window ends shared by every key, so one list per window
/// end) and its eight sources, and it leaves out everything the engine owes beyond this job: allowed lateness
/// and the late side output, idle and returning sources, checkpoints and their copy-on-write, TTL, output ids,
/// processing-time timers, generic callbacks. Input must be on time (the benchmark's is).
/// </remarks>
internal sealed class EngineFloor
{
    private const int Shift = 10;
    private const int Ring = 256;
    private const int Chunk = 64;
    private const long Window = 1_000_000;

    private readonly long _bound;
    private readonly long[] _sourceMax;
    private readonly Bucket[] _ring = new Bucket[Ring];
    private readonly Stack<EngineSuite.BenchEvent[]> _spare = new();
    private readonly Dictionary<long, List<int>> _timers = [];
    private readonly PriorityQueue<long, long> _timerTimes = new();
    private readonly Action<ulong, long, long> _emit;
    private int[] _counts = new int[(1 << Shift) + 1];
    private long[] _sortedTimes = new long[1024];
    private EngineSuite.BenchEvent[] _sortedEvents = new EngineSuite.BenchEvent[1024];
    private readonly int[] _slots = new int[Chunk];
    private readonly ulong[] _hashes = new ulong[Chunk];
    private int[] _index = new int[1 << 18];
    private Entry[] _entries = new Entry[1 << 17];
    private int _keys;
    private long _watermark = long.MinValue;
    private long _nextRelease = long.MinValue;
    private long _nextTimer = long.MaxValue;
    private readonly FloorPart _omit;
    private int _slowest;

    /// <param name="omit">Parts left out, to see what each costs (the outputs are then not the engine's).</param>
    public EngineFloor(long bound, int sources, Action<ulong, long, long> emit, FloorPart omit = FloorPart.None)
    {
        _bound = bound;
        _omit = omit;
        _sourceMax = new long[sources];
        Array.Fill(_sourceMax, long.MinValue);
        _emit = emit;
        for (var i = 0; i < Ring; i++)
        {
            _ring[i] = new Bucket();
        }
    }

    public void Process(ReadOnlySpan<EngineSuite.BenchEvent> batch)
    {
        if ((_omit & FloorPart.Reorder) != 0)
        {
            // Measurement only: the job run on the events in arrival order.
            if (_sortedEvents.Length < batch.Length)
            {
                _sortedTimes = new long[batch.Length];
                _sortedEvents = new EngineSuite.BenchEvent[batch.Length];
            }

            for (var i = 0; i < batch.Length; i++)
            {
                _sortedTimes[i] = batch[i].Time;
                _sortedEvents[i] = batch[i];
            }

            Apply(batch.Length);
            return;
        }

        var sourceMax = _sourceMax;
        var watermark = _watermark;
        foreach (ref readonly var e in batch)
        {
            var s = (int)e.Source;
            if (e.Time > sourceMax[s])
            {
                var unseen = sourceMax[s] == long.MinValue;
                sourceMax[s] = e.Time;

                // The minimum moves only when the slowest source (or a new one) advances.
                if (s == _slowest || unseen)
                {
                    var min = long.MaxValue;
                    for (var i = 0; i < sourceMax.Length; i++)
                    {
                        if (sourceMax[i] != long.MinValue && sourceMax[i] < min)
                        {
                            min = sourceMax[i];
                            _slowest = i;
                        }
                    }

                    watermark = min - _bound;
                }
            }

            if (e.Time <= watermark)
            {
                throw new InvalidOperationException("the floor loop takes on-time input only");
            }

            var id = e.Time >> Shift;
            if (_nextRelease == long.MinValue)
            {
                _nextRelease = id;
            }

            var b = _ring[id & (Ring - 1)];
            if (b.Count == 0)
            {
                b.Id = id;
                b.Events ??= _spare.Count > 0 ? _spare.Pop() : new EngineSuite.BenchEvent[2048];
            }
            else if (b.Id != id)
            {
                throw new InvalidOperationException("reorder window wider than the ring");
            }

            b.Append(e);
        }

        _watermark = watermark;
        while (_nextRelease != long.MinValue && ((_nextRelease + 1) << Shift) - 1 <= watermark)
        {
            Release(_nextRelease);
            _nextRelease++;
        }
    }

    /// <summary>End of input: everything buffered is released and every timer fires.</summary>
    public void Flush()
    {
        for (var id = _nextRelease; _nextRelease != long.MinValue && id < _nextRelease + Ring; id++)
        {
            Release(id);
        }

        _nextRelease = long.MinValue;
        FireUpTo(long.MaxValue);
    }

    private void Release(long id)
    {
        var b = _ring[id & (Ring - 1)];
        var n = b.Id == id ? b.Count : 0;
        if (n > 0)
        {
            n = Sort(b, n, id << Shift);
            b.Count = 0;

            // The array goes back to the top of a stack, so the next bucket opened writes to memory still in cache.
            _spare.Push(b.Events!);
            b.Events = null;
            if ((_omit & FloorPart.State) == 0)
            {
                Apply(n);
            }
        }

        FireUpTo(((id + 1) << Shift) - 1);
    }

    /// <summary>Counting sort of a bucket on time into the sorted arrays, then the tie-break; returns the events kept.</summary>
    private int Sort(Bucket b, int n, long start)
    {
        if (_sortedTimes.Length < n)
        {
            _sortedTimes = new long[n * 2];
            _sortedEvents = new EngineSuite.BenchEvent[n * 2];
        }

        var counts = _counts;
        Array.Clear(counts);
        var events = b.Events!.AsSpan(0, n);
        foreach (ref readonly var e in events)
        {
            counts[(int)(e.Time - start) + 1]++;
        }

        for (var i = 1; i < counts.Length; i++)
        {
            counts[i] += counts[i - 1];
        }

        var times = _sortedTimes;
        var sorted = _sortedEvents;
        foreach (ref readonly var e in events)
        {
            var at = counts[(int)(e.Time - start)]++;
            times[at] = e.Time;
            sorted[at] = e;
        }

        // Equal times: insertion by (source, sequence); an equal pair is a duplicate, the later copy dropped.
        var write = 0;
        for (var i = 0; i < n; i++)
        {
            var e = sorted[i];
            var m = write - 1;
            var duplicate = false;
            while (m >= 0 && times[m] == e.Time)
            {
                var c = Compare(sorted[m], e);
                if (c == 0)
                {
                    duplicate = true;
                    break;
                }

                if (c < 0)
                {
                    break;
                }

                sorted[m + 1] = sorted[m];
                m--;
            }

            if (duplicate)
            {
                for (var k = m + 1; k < write; k++)
                {
                    sorted[k] = sorted[k + 1];
                }

                continue;
            }

            sorted[m + 1] = e;
            times[write++] = e.Time;
        }

        return write;
    }

    /// <summary>Runs the job on the first <paramref name="n"/> sorted events.</summary>
    private void Apply(int n)
    {
        var times = _sortedTimes;
        var events = _sortedEvents;
        for (var c = 0; c < n; c += Chunk)
        {
            var m = Math.Min(Chunk, n - c);
            var index = _index;
            var mask = (uint)(index.Length - 1);
            for (var i = 0; i < m; i++)
            {
                var h = StableHash.Mix(events[c + i].Key);
                _hashes[i] = h;
                Prefetch(ref index[(int)(h & mask)]);
            }

            for (var i = 0; i < m; i++)
            {
                var slot = index[(int)(_hashes[i] & mask)] - 1;
                if (slot >= 0)
                {
                    Prefetch(ref _entries[slot]);
                }
            }

            for (var i = 0; i < m; i++)
            {
                _slots[i] = FindOrAdd(events[c + i].Key, _hashes[i]);
            }

            var entries = _entries;
            for (var i = 0; i < m; i++)
            {
                var t = times[c + i];
                if (t > _nextTimer)
                {
                    FireUpTo(t - 1);
                }

                ref var en = ref entries[_slots[i]];
                en.Count++;
                en.Last = Math.Max(en.Last, t);
                var end = ((t / Window) + 1) * Window;
                if (en.Timer != end)
                {
                    en.Timer = end;
                    AddTimer(end, _slots[i]);
                }
            }
        }
    }

    private int FindOrAdd(ulong key, ulong hash)
    {
        var entries = _entries;
        ref var head = ref _index[(int)(hash & (uint)(_index.Length - 1))];
        for (var slot = head - 1; slot >= 0; slot = entries[slot].Next)
        {
            if (entries[slot].Key == key)
            {
                return slot;
            }
        }

        if (_keys == entries.Length)
        {
            Grow();
            return FindOrAdd(key, hash);
        }

        var added = _keys++;
        entries[added] = new Entry { Key = key, Hash = hash, Next = head - 1 };
        head = added + 1;
        return added;
    }

    private void Grow()
    {
        Array.Resize(ref _entries, _entries.Length * 2);
        _index = new int[_index.Length * 2];
        var mask = (uint)(_index.Length - 1);
        for (var slot = 0; slot < _keys; slot++)
        {
            ref var head = ref _index[(int)(_entries[slot].Hash & mask)];
            _entries[slot].Next = head - 1;
            head = slot + 1;
        }
    }

    private void AddTimer(long time, int slot)
    {
        if (!_timers.TryGetValue(time, out var slots))
        {
            _timers[time] = slots = [];
            _timerTimes.Enqueue(time, time);
            _nextTimer = Math.Min(_nextTimer, time);
        }

        slots.Add(slot);
    }

    private void FireUpTo(long time)
    {
        while (_timerTimes.Count > 0 && _nextTimer <= time)
        {
            var due = _timerTimes.Dequeue();
            var slots = _timers[due];
            _timers.Remove(due);
            var entries = _entries;
            for (var i = 0; i < slots.Count; i++)
            {
                if (i + 8 < slots.Count)
                {
                    Prefetch(ref entries[slots[i + 8]]);
                }

                ref var en = ref entries[slots[i]];
                en.Timer = 0;
                _emit(en.Key, due, en.Count);
            }

            _nextTimer = _timerTimes.TryPeek(out _, out var next) ? next : long.MaxValue;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Compare(in EngineSuite.BenchEvent a, in EngineSuite.BenchEvent b)
    {
        var c = a.Source.CompareTo(b.Source);
        return c != 0 ? c : a.Seq.CompareTo(b.Seq);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch<T>(ref T at)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref at));
        }
    }

    private struct Entry
    {
        public ulong Key;
        public ulong Hash;
        public long Count;
        public long Last;
        public long Timer;
        public int Next;
    }

    private sealed class Bucket
    {
        public long Id;
        public int Count;
        public EngineSuite.BenchEvent[]? Events;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Append(in EngineSuite.BenchEvent e)
        {
            if (Count == Events!.Length)
            {
                Array.Resize(ref Events, Events.Length * 2);
            }

            Events[Count++] = e;
        }
    }
}

/// <summary>Parts of the floor loop's work, to leave out when measuring what each costs.</summary>
[Flags]
internal enum FloorPart
{
    None = 0,

    /// <summary>Buckets, counting sort and tie-break: the job runs on the events as they arrive.</summary>
    Reorder = 1,

    /// <summary>Keyed state and timers: events are ordered and dropped.</summary>
    State = 2,
}
