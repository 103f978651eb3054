using EdgeStream.Engine.State;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// The engine benchmark's work written by hand for its one job, as a floor for the engine's figure: per-source
/// bounded out-of-orderness watermarks (the minimum over the sources seen), a ring of 1,024 µs reorder buckets
/// released once the watermark passes them, each ordered by a counting sort on time and an insertion tie-break
/// on (source, sequence) that drops duplicates, per-key state (count, newest time) in an open-addressing table,
/// one one-second window timer per key deduplicated on the key, timers fired once every event at or before them
/// is processed, and the count emitted per firing.
/// </summary>
/// <remarks>
/// <para>
/// It knows its event type, its key, its only timer (window ends shared by every key, so one list per window
/// end) and its sources, and uses all of it: a buffered event is 16 bytes, its key and one word packing its
/// time within the bucket (10 bits), source (8) and sequence (32), so that one integer comparison orders equal
/// times and finds duplicates; a key's entry is 32 bytes (key, count, newest time, pending window end) found
/// with one probe that was prefetched 16 events ahead.
/// </para>
/// <para>
/// It leaves out everything the engine owes beyond this job: allowed lateness and the late side output, idle
/// and returning sources, checkpoints and their copy-on-write, TTL, output ids, processing-time timers,
/// generic callbacks. Input must be on time (the benchmark's is).
/// </para>
/// </remarks>
internal sealed class EngineFloor
{
    private const int Shift = 10;
    private const int OffsetShift = 40;
    private const int Ring = 128;
    private const int PrefetchDistance = 16;
    private const long Window = 1_000_000;

    private readonly long _bound;
    private readonly long[] _sourceMax;
    private readonly Held[][] _ring = new Held[Ring][];
    private readonly int[] _ringCount = new int[Ring];
    private readonly long[] _ringId = new long[Ring];
    private readonly FloorTimers _timers = new();
    private readonly Action<ulong, long, long> _emit;
    private readonly FloorPart _omit;
    private readonly int[] _counts = new int[(1 << Shift) + 1];
    private Held[] _sorted = new Held[4096];
    private Entry[] _table;
    private int _keys;
    private long _watermark = long.MinValue;
    private long _nextRelease = long.MinValue;
    private int _slowest;

    /// <param name="sources">Sources are numbered 0 to sources − 1, at most 256 (eight bits of the packed word).</param>
    /// <param name="omit">Parts left out, to see what each costs (the outputs are then not the engine's).</param>
    /// <param name="tableSize">Initial slots of the state table (a power of two); it doubles when half full.</param>
    public EngineFloor(long bound, int sources, Action<ulong, long, long> emit, FloorPart omit = FloorPart.None, int tableSize = 1 << 18)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(tableSize & (tableSize - 1), 0, nameof(tableSize));
        _table = new Entry[tableSize];
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sources, 256);
        _bound = bound;
        _omit = omit;
        _sourceMax = new long[sources];
        Array.Fill(_sourceMax, long.MinValue);
        _emit = emit;
        for (var i = 0; i < Ring; i++)
        {
            _ring[i] = new Held[2048];
        }
    }

    public void Process(ReadOnlySpan<EngineSuite.BenchEvent> batch)
    {
        if ((_omit & FloorPart.Reorder) != 0)
        {
            // Measurement only: the job run on the events in arrival order (the word is the whole time).
            EnsureSorted(batch.Length);
            for (var i = 0; i < batch.Length; i++)
            {
                _sorted[i] = new Held { Word = (ulong)batch[i].Time, Key = batch[i].Key };
            }

            Apply(_sorted.AsSpan(0, batch.Length), start: 0, shift: 0);
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

            var r = (int)(id & (Ring - 1));
            var n = _ringCount[r];
            if (n == 0)
            {
                _ringId[r] = id;
            }
            else if (_ringId[r] != id)
            {
                throw new InvalidOperationException("reorder window wider than the ring");
            }

            if (n == _ring[r].Length)
            {
                Array.Resize(ref _ring[r], n * 2);
            }

            _ring[r][n] = new Held { Word = ((ulong)(e.Time & ((1 << Shift) - 1)) << OffsetShift) | ((ulong)s << 32) | e.Seq, Key = e.Key };
            _ringCount[r] = n + 1;
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
        var r = (int)(id & (Ring - 1));
        var n = _ringId[r] == id ? _ringCount[r] : 0;
        var start = id << Shift;
        if (n > 0)
        {
            _ringCount[r] = 0;
            n = Sort(_ring[r].AsSpan(0, n));
            if ((_omit & FloorPart.State) == 0)
            {
                Apply(_sorted.AsSpan(0, n), start, OffsetShift);
            }
        }

        FireUpTo(start + (1 << Shift) - 1);
    }

    /// <summary>Counting sort of a bucket on the time offset into <see cref="_sorted"/>, then the tie-break; returns the events kept.</summary>
    private int Sort(ReadOnlySpan<Held> bucket)
    {
        EnsureSorted(bucket.Length);
        var counts = _counts;
        Array.Clear(counts);
        foreach (ref readonly var e in bucket)
        {
            counts[(int)(e.Word >> OffsetShift) + 1]++;
        }

        for (var i = 1; i < counts.Length; i++)
        {
            counts[i] += counts[i - 1];
        }

        var sorted = _sorted;
        foreach (ref readonly var e in bucket)
        {
            sorted[counts[(int)(e.Word >> OffsetShift)]++] = e;
        }

        // Equal times: insertion on the whole word, whose time bits are equal, so (source, sequence) decides;
        // an equal word is a duplicate and the later copy is dropped.
        var write = 0;
        for (var i = 0; i < bucket.Length; i++)
        {
            var e = sorted[i];
            var m = write - 1;
            while (m >= 0 && sorted[m].Word > e.Word)
            {
                sorted[m + 1] = sorted[m];
                m--;
            }

            if (m >= 0 && sorted[m].Word == e.Word)
            {
                for (var k = m + 1; k < write; k++)
                {
                    sorted[k] = sorted[k + 1];
                }

                continue;
            }

            sorted[m + 1] = e;
            write++;
        }

        return write;
    }

    /// <summary>Runs the job on a run of events in order; an event's time is start + (word &gt;&gt; shift).</summary>
    private void Apply(ReadOnlySpan<Held> run, long start, int shift)
    {
        var table = _table;
        var mask = table.Length - 1;
        for (var i = 0; i < Math.Min(PrefetchDistance, run.Length); i++)
        {
            FloorTimers.Prefetch(ref table[(int)StableHash.Mix(run[i].Key) & mask]);
        }

        for (var i = 0; i < run.Length; i++)
        {
            if (i + PrefetchDistance < run.Length)
            {
                FloorTimers.Prefetch(ref table[(int)StableHash.Mix(run[i + PrefetchDistance].Key) & mask]);
            }

            var t = start + (long)(run[i].Word >> shift);
            if (t > _timers.Next)
            {
                FireUpTo(t - 1);
            }

            var slot = FindOrAdd(run[i].Key);
            ref var en = ref _table[slot];
            en.Count++;
            en.Last = Math.Max(en.Last, t);
            var end = ((t / Window) + 1) * Window;
            if (en.Timer != end)
            {
                en.Timer = end;
                _timers.Add(end, slot);
            }

            if (table != _table)
            {
                table = _table;
                mask = table.Length - 1;
            }
        }
    }

    /// <summary>Linear probing; a slot with a zero count is free (an added key is counted at once).</summary>
    private int FindOrAdd(ulong key)
    {
        var table = _table;
        var mask = table.Length - 1;
        var slot = (int)StableHash.Mix(key) & mask;
        while (true)
        {
            ref var en = ref table[slot];
            if (en.Count == 0)
            {
                if (_keys + 1 > table.Length / 2)
                {
                    Grow();
                    return FindOrAdd(key);
                }

                _keys++;
                en.Key = key;
                return slot;
            }

            if (en.Key == key)
            {
                return slot;
            }

            slot = (slot + 1) & mask;
        }
    }

    /// <summary>Doubles the table; pending timers name slots, so they are moved with their keys.</summary>
    private void Grow()
    {
        var old = _table;
        _table = new Entry[old.Length * 2];
        var mask = _table.Length - 1;
        var moved = new int[old.Length];
        for (var i = 0; i < old.Length; i++)
        {
            if (old[i].Count == 0)
            {
                continue;
            }

            var slot = (int)StableHash.Mix(old[i].Key) & mask;
            while (_table[slot].Count != 0)
            {
                slot = (slot + 1) & mask;
            }

            _table[slot] = old[i];
            moved[i] = slot;
        }

        _timers.MoveSlots(moved);
    }

    private void FireUpTo(long time)
    {
        while (_timers.TryTakeDue(time, out var due, out var slots))
        {
            var table = _table;
            for (var i = 0; i < slots.Count; i++)
            {
                if (i + 8 < slots.Count)
                {
                    FloorTimers.Prefetch(ref table[slots[i + 8]]);
                }

                ref var en = ref table[slots[i]];
                _emit(en.Key, due, en.Count);
            }

        }
    }

    private void EnsureSorted(int n)
    {
        if (_sorted.Length < n)
        {
            _sorted = new Held[n * 2];
        }
    }

    /// <summary>A buffered event: its key, and its time within the bucket, source and sequence packed in that order.</summary>
    private struct Held
    {
        public ulong Word;
        public ulong Key;
    }

    private struct Entry
    {
        public ulong Key;
        public long Count;
        public long Last;
        public long Timer;
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
