using System.Runtime.CompilerServices;
using EdgeStream.Engine;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// The floor loop (<see cref="EngineFloor"/>) given only what any engine that runs a job written on top of it
/// must do, and nothing more: to show what the benchmark's figure can be for such an engine on this machine.
/// </summary>
/// <remarks>
/// <para>
/// What it adds to the floor is the engine's contract with a job, <see cref="StreamJob{TEvent,TKey,TState,TOutput}"/>:
/// it does not know the event, so it holds events as they are (no packed word) and reaches time, key, hash
/// and source through the job; equal times are ordered, and duplicates found, by the job's
/// <c>CompareSameTime</c>; sources are any 64-bit id (gateways), found through a small direct-mapped cache;
/// the job's <c>OnEvent</c> and <c>OnTimer</c> run with a <see cref="KeyedContext{TKey,TOutput}"/> that
/// registers timers and emits; each output carries the engine's id (key hash, origin, sequence), so that
/// a replay can be deduplicated.
/// </para>
/// <para>
/// Everything else is the floor's, including its shortcuts: a 1,024 µs bucket ring, an open-addressing
/// table whose entries (key, state, origin, sequence, latest timer) move when it grows, one list of keys
/// per timer time, and a timer deduplicated against its key's latest registration only (enough for a job
/// whose timers per key only move forward, as the benchmark's; the engine deduplicates against every
/// pending timer of the key). It leaves out what the engine owes
/// beyond that: allowed lateness and the late side output, idle and returning sources, checkpoints and
/// their copy-on-write, TTL and cleared state, processing-time timers, deleting timers, counters and
/// metrics. Input must be on time (the benchmark's is).
/// </para>
/// </remarks>
internal sealed class GenericFloor<TEvent, TKey, TState, TOutput>
    where TEvent : struct
    where TKey : notnull, IEquatable<TKey>
    where TState : struct
{
    private const int Shift = 10;
    private const int Ring = 128;
    private const int PrefetchDistance = 16;
    private const int RecentSources = 64;

    private readonly StreamJob<TEvent, TKey, TState, TOutput> _job;
    private readonly IOutputSink<TKey, TOutput> _sink;
    private readonly long _bound;
    private readonly Context _context;

    private readonly Dictionary<ulong, int> _sourceIndex = [];
    private readonly int[] _recentSource = new int[RecentSources];
    private ulong[] _sourceIds = new ulong[8];
    private long[] _sourceMax = new long[8];
    private int _sources;
    private int _slowest;

    private readonly TEvent[][] _ring = new TEvent[Ring][];
    private readonly int[] _ringCount = new int[Ring];
    private readonly long[] _ringId = new long[Ring];
    private readonly int[] _counts = new int[(1 << Shift) + 1];
    private TEvent[] _sorted = new TEvent[4096];
    private readonly ulong[] _hashAhead = new ulong[PrefetchDistance];

    private readonly FloorTimers _timers = new();
    private Entry[] _table;
    private int _keys;
    private long _watermark = long.MinValue;
    private long _nextRelease = long.MinValue;

    /// <param name="tableSize">Initial slots of the state table (a power of two); it doubles when half full.</param>
    public GenericFloor(StreamJob<TEvent, TKey, TState, TOutput> job, long bound, IOutputSink<TKey, TOutput> sink, int tableSize = 1 << 18)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(tableSize & (tableSize - 1), 0, nameof(tableSize));
        _job = job;
        _bound = bound;
        _sink = sink;
        _context = new Context(this);
        _table = NewTable(tableSize);
        for (var i = 0; i < Ring; i++)
        {
            _ring[i] = new TEvent[2048];
        }
    }

    public void Process(ReadOnlySpan<TEvent> batch)
    {
        var job = _job;
        var watermark = _watermark;
        foreach (ref readonly var e in batch)
        {
            var time = job.EventTimeOf(e);
            var s = SourceIndex(job.SourceOf(e));
            var sourceMax = _sourceMax;
            if (time > sourceMax[s])
            {
                var unseen = sourceMax[s] == long.MinValue;
                sourceMax[s] = time;

                // The minimum moves only when the slowest source (or a new one) advances.
                if (s == _slowest || unseen)
                {
                    var min = long.MaxValue;
                    for (var i = 0; i < _sources; i++)
                    {
                        if (sourceMax[i] < min)
                        {
                            min = sourceMax[i];
                            _slowest = i;
                        }
                    }

                    watermark = min - _bound;
                }
            }

            if (time <= watermark)
            {
                throw new InvalidOperationException("the floor loop takes on-time input only");
            }

            var id = time >> Shift;
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

            _ring[r][n] = e;
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
        _watermark = long.MaxValue;
        for (var id = _nextRelease; _nextRelease != long.MinValue && id < _nextRelease + Ring; id++)
        {
            Release(id);
        }

        _nextRelease = long.MinValue;
        FireUpTo(long.MaxValue);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int SourceIndex(ulong id)
    {
        ref var cached = ref _recentSource[(int)(id & (RecentSources - 1))];
        var at = cached - 1;
        if (at >= 0 && _sourceIds[at] == id)
        {
            return at;
        }

        if (!_sourceIndex.TryGetValue(id, out at))
        {
            at = _sources++;
            if (at == _sourceIds.Length)
            {
                Array.Resize(ref _sourceIds, at * 2);
                Array.Resize(ref _sourceMax, at * 2);
            }

            _sourceIds[at] = id;
            _sourceMax[at] = long.MinValue;
            _sourceIndex.Add(id, at);
        }

        cached = at + 1;
        return at;
    }

    private void Release(long id)
    {
        var r = (int)(id & (Ring - 1));
        var n = _ringId[r] == id ? _ringCount[r] : 0;
        var start = id << Shift;
        if (n > 0)
        {
            _ringCount[r] = 0;
            n = Sort(_ring[r].AsSpan(0, n), start);
            Apply(_sorted.AsSpan(0, n));
        }

        FireUpTo(start + (1 << Shift) - 1);
    }

    /// <summary>Counting sort of a bucket on the time offset into <see cref="_sorted"/>, then the job's tie-break; returns the events kept.</summary>
    private int Sort(ReadOnlySpan<TEvent> bucket, long start)
    {
        var job = _job;
        if (_sorted.Length < bucket.Length)
        {
            _sorted = new TEvent[bucket.Length * 2];
        }

        var counts = _counts;
        Array.Clear(counts);
        foreach (ref readonly var e in bucket)
        {
            counts[(int)(job.EventTimeOf(e) - start) + 1]++;
        }

        for (var i = 1; i < counts.Length; i++)
        {
            counts[i] += counts[i - 1];
        }

        var sorted = _sorted;
        foreach (ref readonly var e in bucket)
        {
            sorted[counts[(int)(job.EventTimeOf(e) - start)]++] = e;
        }

        // Equal times: insertion by the job's comparison; an equal event is a duplicate, the later copy dropped.
        var write = 0;
        for (var i = 0; i < bucket.Length; i++)
        {
            var e = sorted[i];
            var time = job.EventTimeOf(e);
            var m = write - 1;
            var c = 1;
            while (m >= 0 && job.EventTimeOf(sorted[m]) == time && (c = job.CompareSameTime(sorted[m], e)) > 0)
            {
                sorted[m + 1] = sorted[m];
                m--;
            }

            if (c == 0)
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

    /// <summary>Runs the job on a run of events in order; each key is hashed once, when its slot is prefetched.</summary>
    private void Apply(ReadOnlySpan<TEvent> run)
    {
        const int Mask = PrefetchDistance - 1;
        var job = _job;
        var table = _table;
        var mask = table.Length - 1;
        var hashes = _hashAhead;
        for (var i = 0; i < Math.Min(PrefetchDistance, run.Length); i++)
        {
            hashes[i] = job.HashKey(job.KeyOf(run[i]));
            FloorTimers.Prefetch(ref table[(int)hashes[i] & mask]);
        }

        for (var i = 0; i < run.Length; i++)
        {
            var hash = hashes[i & Mask];
            if (i + PrefetchDistance < run.Length)
            {
                hashes[i & Mask] = job.HashKey(job.KeyOf(run[i + PrefetchDistance]));
                FloorTimers.Prefetch(ref table[(int)hashes[i & Mask] & mask]);
            }

            ref readonly var e = ref run[i];
            var time = job.EventTimeOf(e);
            if (time > _timers.Next)
            {
                FireUpTo(time - 1);
            }

            var slot = FindOrAdd(job.KeyOf(e), hash, time);
            table = _table;
            mask = table.Length - 1;
            _context.Enter(slot, time);
            job.OnEvent(e, ref table[slot].State, _context);
        }
    }

    /// <summary>Linear probing; a free slot has no origin. A new key's life begins at <paramref name="time"/>.</summary>
    private int FindOrAdd(in TKey key, ulong hash, long time)
    {
        var table = _table;
        var mask = table.Length - 1;
        var slot = (int)hash & mask;
        while (true)
        {
            ref var en = ref table[slot];
            if (en.Origin == Free)
            {
                if (_keys + 1 > table.Length / 2)
                {
                    Grow();
                    return FindOrAdd(key, hash, time);
                }

                _keys++;
                en.Key = key;
                en.Origin = time;
                return slot;
            }

            if (en.Key.Equals(key))
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
        _table = NewTable(old.Length * 2);
        var mask = _table.Length - 1;
        var moved = new int[old.Length];
        for (var i = 0; i < old.Length; i++)
        {
            if (old[i].Origin == Free)
            {
                continue;
            }

            var slot = (int)_job.HashKey(old[i].Key) & mask;
            while (_table[slot].Origin != Free)
            {
                slot = (slot + 1) & mask;
            }

            _table[slot] = old[i];
            moved[i] = slot;
        }

        _timers.MoveSlots(moved);
    }

    private static Entry[] NewTable(int size)
    {
        var table = new Entry[size];
        for (var i = 0; i < table.Length; i++)
        {
            table[i].Origin = Free;
        }

        return table;
    }

    private void AddTimer(int slot, long time)
    {
        ref var en = ref _table[slot];
        if (en.Timer == time)
        {
            return;
        }

        en.Timer = time;
        _timers.Add(time, slot);
    }

    private void FireUpTo(long time)
    {
        while (_timers.TryTakeDue(time, out var due, out var slots))
        {
            for (var i = 0; i < slots.Count; i++)
            {
                if (i + 8 < slots.Count)
                {
                    FloorTimers.Prefetch(ref _table[slots[i + 8]]);
                }

                var slot = slots[i];
                ref var en = ref _table[slot];
                if (en.Timer == due)
                {
                    en.Timer = NoTimer;
                }

                _context.Enter(slot, due);
                _job.OnTimer(TimerDomain.EventTime, ref en.State, _context);
            }
        }
    }

    private const long Free = long.MinValue;
    private const long NoTimer = long.MinValue;

    /// <summary>A key's entry: what the engine keeps for an output id (origin, sequence) and the key's latest timer.</summary>
    private struct Entry
    {
        public TKey Key;
        public TState State;
        public long Origin;
        public long Sequence;
        public long Timer;
    }

    /// <summary>The job's view of the floor: the current key, its time, its timer and its outputs.</summary>
    private sealed class Context(GenericFloor<TEvent, TKey, TState, TOutput> floor) : KeyedContext<TKey, TOutput>
    {
        private int _slot;
        private long _timestamp;

        public override TKey Key => floor._table[_slot].Key;

        public override long Timestamp => _timestamp;

        public override EventFlags Flags => EventFlags.None;

        public override long Watermark => floor._watermark;

        public override long ProcessingTime => 0;

        public void Enter(int slot, long timestamp)
        {
            _slot = slot;
            _timestamp = timestamp;
        }

        public override void RegisterEventTimer(long time) => floor.AddTimer(_slot, time);

        public override void Emit(in TOutput value)
        {
            ref var en = ref floor._table[_slot];
            var id = new OutputId(floor._job.HashKey(en.Key), en.Origin, en.Sequence++);
            floor._sink.Write(new Output<TKey, TOutput>(en.Key, id, _timestamp, 0, value));
        }

        public override void DeleteEventTimer(long time) => throw Unsupported();

        public override void RegisterProcessingTimer(long time) => throw Unsupported();

        public override void DeleteProcessingTimer(long time) => throw Unsupported();

        public override void ClearState() => throw Unsupported();

        private static NotSupportedException Unsupported() => new("the floor loop leaves this out");
    }
}
