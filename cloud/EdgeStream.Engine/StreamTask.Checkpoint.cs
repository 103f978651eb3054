using System.Diagnostics;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;
using EdgeStream.Engine.Time;

namespace EdgeStream.Engine;

/// <summary>
/// Checkpoints of a task. <see cref="BeginCheckpoint"/> runs on the task's thread and only copies flat
/// arrays (state entries, timer heaps, reorder buffers, source clocks), which is the whole pause;
/// <see cref="WriteCheckpoint"/> turns the copy into bytes on any thread while processing goes on.
/// </summary>
public sealed partial class StreamTask<TEvent, TKey, TState, TOutput>
{
    private const int FormatVersion = 1;
    private TaskSnapshot<TEvent, TKey, TState>? _spare;
    private TaskSnapshot<TEvent, TKey, TState>? _copying;
    private int _copyCursor;
    private int _copyHigh;
    private ulong[] _copied = [];

    /// <summary>Whether a checkpoint's incremental copy of keyed state is still in progress.</summary>
    public bool IsCopyingCheckpoint => _copying is not null;

    /// <summary>
    /// Takes a checkpoint barrier: everything a checkpoint holds, consistent with <see cref="NextOffset"/>.
    /// Timers, buffered events and source clocks are copied at once. Keyed state is copied at once too
    /// unless <paramref name="incrementalChunk"/> is positive and the table is larger: then the barrier
    /// only starts the copy, <see cref="ContinueCheckpointCopy"/> copies that many entries per call
    /// between batches, and an entry the task is about to change before it was copied is copied first
    /// (copy-on-write), so the snapshot is still exactly the state at the barrier. Hand the snapshot,
    /// once <see cref="TaskSnapshot{TEvent,TKey,TState}.IsComplete"/>, to <see cref="WriteCheckpoint"/>
    /// and then back with <see cref="ReleaseSnapshot"/>.
    /// </summary>
    public TaskSnapshot<TEvent, TKey, TState> BeginCheckpoint(long checkpointId, int incrementalChunk = 0)
    {
        if (_copying is not null)
        {
            throw new InvalidOperationException("A checkpoint copy is already in progress.");
        }

        var started = Stopwatch.GetTimestamp();
        var s = Interlocked.Exchange(ref _spare, null) ?? new TaskSnapshot<TEvent, TKey, TState>();
        s.CheckpointId = checkpointId;
        s.Partition = Partition;
        s.NextOffset = NextOffset;
        s.Watermark = Watermark;
        s.Ended = _ended;

        s.EntryCount = _table.HighWater;
        if (s.Entries.Length < s.EntryCount)
        {
            s.Entries = new StateEntry<TKey, TState>[_table.Entries.Length];
        }

        if (incrementalChunk > 0 && s.EntryCount > incrementalChunk)
        {
            _copying = s;
            _copyCursor = 0;
            _copyHigh = s.EntryCount;
            var words = (s.EntryCount + 63) >> 6;
            if (_copied.Length < words)
            {
                _copied = new ulong[words];
            }
            else
            {
                Array.Clear(_copied, 0, words);
            }

            s.IsComplete = false;
        }
        else
        {
            Array.Copy(_table.Entries, s.Entries, s.EntryCount);
            s.IsComplete = true;
        }

        s.EventTimerCount = _eventTimers.CopyTo(ref s.EventTimers);
        s.ProcessingTimerCount = CopyHeap(_processingTimers, ref s.ProcessingTimers);
        s.ReorderCount = _reorder.CopyTo(ref s.Reorder);

        s.Sources.Clear();
        foreach (var c in _sources.All)
        {
            var held = Array.Empty<Buffered<TEvent>>();
            var n = c.Held.CopyTo(ref held);
            s.Sources.Add((c.Id, c.MaxTime, c.Status, held, n));
        }

        s.PauseTicks = Stopwatch.GetTimestamp() - started;
        s.LongestStepTicks = s.PauseTicks;
        return s;
    }

    /// <summary>
    /// Copies up to <paramref name="maxEntries"/> more entries of an incremental checkpoint copy; returns
    /// true when the copy is complete (or none is in progress).
    /// </summary>
    public bool ContinueCheckpointCopy(int maxEntries)
    {
        if (_copying is not { } s)
        {
            return true;
        }

        var started = Stopwatch.GetTimestamp();
        var end = (int)Math.Min((long)_copyCursor + Math.Max(64, maxEntries), _copyHigh);
        var live = _table.Entries;
        var i = _copyCursor;
        while (i < end)
        {
            var word = _copied[i >> 6];
            if ((i & 63) == 0 && word == 0 && i + 64 <= end)
            {
                Array.Copy(live, i, s.Entries, i, 64);
                i += 64;
                continue;
            }

            if ((word & (1UL << (i & 63))) == 0)
            {
                s.Entries[i] = live[i];
            }

            i++;
        }

        _copyCursor = end;
        var step = Stopwatch.GetTimestamp() - started;
        s.PauseTicks += step;
        s.LongestStepTicks = Math.Max(s.LongestStepTicks, step);
        if (_copyCursor < _copyHigh)
        {
            return false;
        }

        s.IsComplete = true;
        _copying = null;
        return true;
    }

    /// <summary>Before an entry changes during an incremental copy: keep its barrier-time value.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void BeforeEntryChange(int slot, bool added)
    {
        if (_copying is { } s && slot >= _copyCursor && slot < _copyHigh)
        {
            CopyOnWrite(s, slot, added);
        }
    }

    private void CopyOnWrite(TaskSnapshot<TEvent, TKey, TState> s, int slot, bool added)
    {
        ref var word = ref _copied[slot >> 6];
        var bit = 1UL << (slot & 63);
        if ((word & bit) != 0)
        {
            return;
        }

        // A slot taken from the free list was free at the barrier: record it as free.
        s.Entries[slot] = added ? new StateEntry<TKey, TState> { Next = -2 } : _table.At(slot);
        word |= bit;
    }

    /// <summary>Returns a snapshot's arrays for reuse by the next checkpoint.</summary>
    public void ReleaseSnapshot(TaskSnapshot<TEvent, TKey, TState> snapshot)
    {
        snapshot.Sources.Clear();
        Interlocked.Exchange(ref _spare, snapshot);
    }

    private static int CopyHeap(TimerQueue q, ref TimerEntry[] target)
    {
        if (target.Length < q.Count)
        {
            target = new TimerEntry[q.Heap.Length];
        }

        Array.Copy(q.Heap, target, q.Count);
        return q.Count;
    }

    /// <summary>
    /// Serialises a snapshot; safe on any thread while the task keeps processing (it reads only the
    /// copy and the job's pure serialisers). Keyed state and timers are written in one section per
    /// key group, so a restore can take any subset of key groups.
    /// </summary>
    public void WriteCheckpoint(TaskSnapshot<TEvent, TKey, TState> s, SnapshotWriter w)
    {
        if (!s.IsComplete)
        {
            throw new InvalidOperationException("The snapshot's incremental copy is not complete.");
        }

        w.WriteInt32(FormatVersion);
        w.WriteInt32(s.Partition);
        w.WriteInt64(s.NextOffset);
        w.WriteInt64(s.Watermark);
        w.WriteByte(s.Ended ? (byte)1 : (byte)0);
        w.WriteInt32(_options.KeyGroupCount);

        w.WriteInt32(s.Sources.Count);
        foreach (var (id, maxTime, status, held, n) in s.Sources)
        {
            w.WriteUInt64(id);
            w.WriteInt64(maxTime);
            w.WriteByte((byte)status);
            WriteEvents(w, held, n);
        }

        WriteEvents(w, s.Reorder, s.ReorderCount);

        // Group live entries by key group (counting sort), remembering each entry's index within its group.
        var groups = _options.KeyGroupCount;
        var counts = new int[groups + 1];
        var groupOf = new int[s.EntryCount];
        for (var i = 0; i < s.EntryCount; i++)
        {
            if (KeyedStateTable<TKey, TState>.IsLive(s.Entries[i]))
            {
                var g = KeyGroups.Of(s.Entries[i].Hash, groups);
                groupOf[i] = g;
                counts[g + 1]++;
            }
            else
            {
                groupOf[i] = -1;
            }
        }

        for (var g = 0; g < groups; g++)
        {
            counts[g + 1] += counts[g];
        }

        var order = new int[counts[groups]];
        var indexInGroup = new int[s.EntryCount];
        var fill = (int[])counts.Clone();
        for (var i = 0; i < s.EntryCount; i++)
        {
            var g = groupOf[i];
            if (g >= 0)
            {
                indexInGroup[i] = fill[g] - counts[g];
                order[fill[g]++] = i;
            }
        }

        var eventTimers = GroupTimers(s.EventTimers, s.EventTimerCount, groupOf, groups);
        var processingTimers = GroupTimers(s.ProcessingTimers, s.ProcessingTimerCount, groupOf, groups);

        var nonEmpty = 0;
        for (var g = 0; g < groups; g++)
        {
            if (counts[g + 1] > counts[g])
            {
                nonEmpty++;
            }
        }

        // Totals first, so a restore sizes the table and the timer queues once.
        w.WriteInt32(counts[groups]);
        w.WriteInt32(s.EventTimerCount);
        w.WriteInt32(s.ProcessingTimerCount);
        w.WriteInt32(nonEmpty);
        for (var g = 0; g < groups; g++)
        {
            var from = counts[g];
            var to = counts[g + 1];
            if (to == from)
            {
                continue;
            }

            w.WriteInt32(g);
            var lengthAt = w.ReserveInt32();
            var start = w.Length;
            w.WriteInt32(to - from);
            for (var k = from; k < to; k++)
            {
                ref var e = ref s.Entries[order[k]];
                _job.WriteKey(w, e.Key);
                w.WriteInt64(e.Origin);
                w.WriteInt64(e.Sequence);
                w.WriteInt64(e.LastTouched);
                w.WriteByte(e.Cleared ? (byte)1 : (byte)0);
                _job.WriteState(w, e.State);
            }

            WriteGroupTimers(w, eventTimers, g, indexInGroup);
            WriteGroupTimers(w, processingTimers, g, indexInGroup);
            w.PatchInt32(lengthAt, w.Length - start);
        }
    }

    private static List<TimerEntry>[] GroupTimers(TimerEntry[] timers, int count, int[] groupOf, int groups)
    {
        var byGroup = new List<TimerEntry>[groups];
        for (var i = 0; i < count; i++)
        {
            var g = groupOf[timers[i].Slot];
            (byGroup[g] ??= []).Add(timers[i]);
        }

        return byGroup;
    }

    private static void WriteGroupTimers(SnapshotWriter w, List<TimerEntry>[] byGroup, int g, int[] indexInGroup)
    {
        var list = byGroup[g];
        w.WriteInt32(list?.Count ?? 0);
        if (list is null)
        {
            return;
        }

        foreach (var t in list)
        {
            w.WriteInt32(indexInGroup[t.Slot]);
            w.WriteInt64(t.Time);
        }
    }

    private void WriteEvents(SnapshotWriter w, Buffered<TEvent>[] items, int n)
    {
        w.WriteInt32(n);
        for (var i = 0; i < n; i++)
        {
            w.WriteInt64(items[i].Time);
            _job.WriteEvent(w, items[i].Event);
        }
    }

    /// <summary>
    /// Replaces the task's whole state with a checkpoint of the same partition: offsets, watermark,
    /// source clocks, buffered events, keyed state and timers. Sources restart their idle timeout.
    /// </summary>
    public void Restore(ReadOnlySpan<byte> payload)
    {
        ThrowIfCopying();
        var r = new SnapshotReader(payload);
        var version = r.ReadInt32();
        if (version != FormatVersion)
        {
            throw new CheckpointFormatException($"Checkpoint format version {version} is not supported (expected {FormatVersion}).");
        }

        var partition = r.ReadInt32();
        if (partition != Partition)
        {
            throw new CheckpointFormatException($"Checkpoint is of partition {partition}, not {Partition}.");
        }

        var nextOffset = r.ReadInt64();
        var watermark = r.ReadInt64();
        var ended = r.ReadByte() == 1;
        CheckKeyGroupCount(ref r);

        ClearAll();
        TickClock();
        var sources = r.ReadCount(1_000_000, "source");
        for (var i = 0; i < sources; i++)
        {
            var c = _sources.Get(r.ReadUInt64());
            c.MaxTime = r.ReadInt64();
            var status = r.ReadByte();
            c.Status = status <= (byte)SourceStatus.Behind ? (SourceStatus)status : throw new CheckpointFormatException($"Source status {status} is unknown.");
            c.LastSeenWallUs = _nowUs;
            ReadEvents(ref r, c.Held);
        }

        ReadEvents(ref r, _reorder);
        _sources.Watermark = watermark;
        ReadKeyGroups(ref r, null);
        if (r.Remaining != 0)
        {
            throw new CheckpointFormatException($"Checkpoint has {r.Remaining} unexpected trailing bytes.");
        }

        NextOffset = nextOffset;
        _ended = ended;
    }

    /// <summary>
    /// Adds the keyed state and timers of the key groups <paramref name="include"/> accepts from a
    /// checkpoint of any partition: how state follows its key groups when the partition layout changes.
    /// </summary>
    public void ImportKeyGroups(ReadOnlySpan<byte> payload, Func<int, bool> include)
    {
        ThrowIfCopying();
        var r = new SnapshotReader(payload);
        if (r.ReadInt32() != FormatVersion)
        {
            throw new CheckpointFormatException("Checkpoint format version is not supported.");
        }

        r.ReadInt32();
        r.ReadInt64();
        r.ReadInt64();
        r.ReadByte();
        CheckKeyGroupCount(ref r);
        var sources = r.ReadCount(1_000_000, "source");
        var scratch = new ReorderBuffer<TEvent>(_job.CompareSameTime, 1 << 20);
        for (var i = 0; i < sources; i++)
        {
            r.ReadUInt64();
            r.ReadInt64();
            r.ReadByte();
            ReadEvents(ref r, scratch);
        }

        ReadEvents(ref r, scratch);
        ReadKeyGroups(ref r, include);
    }

    private void ThrowIfCopying()
    {
        if (_copying is not null)
        {
            throw new InvalidOperationException("Cannot restore while a checkpoint copy is in progress.");
        }
    }

    private void CheckKeyGroupCount(ref SnapshotReader r)
    {
        var groups = r.ReadInt32();
        if (groups != _options.KeyGroupCount)
        {
            throw new CheckpointFormatException($"Checkpoint has {groups} key groups but Engine:KeyGroupCount is {_options.KeyGroupCount}; the count is fixed for the life of a job.");
        }
    }

    private void ReadEvents(ref SnapshotReader r, ReorderBuffer<TEvent> into)
    {
        var n = r.ReadCount(100_000_000, "buffered event");
        for (var i = 0; i < n; i++)
        {
            var time = r.ReadInt64();
            var evt = _job.ReadEvent(ref r);
            into.Insert(time, evt);
        }
    }

    private void ReadKeyGroups(ref SnapshotReader r, Func<int, bool>? include)
    {
        var totalEntries = r.ReadCount(100_000_000, "entry");
        _ = r.ReadCount(100_000_000, "event timer"); // the timer calendar grows by bucket: no sizing needed
        var totalProcessingTimers = r.ReadCount(100_000_000, "processing timer");
        if (include is null)
        {
            // Bounded by what the remaining bytes could hold, so a damaged count cannot allocate wildly.
            _table.EnsureCapacity(_table.HighWater + Math.Min(totalEntries, r.Remaining / 8));
            _processingTimers.EnsureCapacity(_processingTimers.Count + Math.Min(totalProcessingTimers, r.Remaining / 12));
        }

        var sections = r.ReadCount(KeyGroups.MaxCount, "key group");
        var slots = new List<int>();
        for (var s = 0; s < sections; s++)
        {
            var group = r.ReadInt32();
            var length = r.ReadCount(r.Remaining - 4, "key group byte");
            if (group < 0 || group >= _options.KeyGroupCount)
            {
                throw new CheckpointFormatException($"Key group {group} is outside 0..{_options.KeyGroupCount - 1}.");
            }

            if (include is not null && !include(group))
            {
                r.ReadRaw(length);
                continue;
            }

            var start = r.Position;
            var n = r.ReadCount(100_000_000, "entry");
            slots.Clear();
            for (var i = 0; i < n; i++)
            {
                var key = _job.ReadKey(ref r);
                var hash = _job.HashKey(key);
                var slot = _table.FindOrAdd(key, hash, out _);
                ref var e = ref _table.At(slot);
                e.Origin = r.ReadInt64();
                e.Sequence = r.ReadInt64();
                e.LastTouched = r.ReadInt64();
                e.Cleared = r.ReadByte() == 1;
                if (e.Cleared)
                {
                    _clearedCount++;
                }

                e.State = _job.ReadState(ref r);
                slots.Add(slot);
            }

            ReadGroupTimers(ref r, TimerDomain.EventTime, slots);
            ReadGroupTimers(ref r, TimerDomain.ProcessingTime, slots);
            if (r.Position - start != length)
            {
                throw new CheckpointFormatException($"Key group {group} section is {r.Position - start} bytes, header says {length}.");
            }
        }
    }

    /// <summary>Reads a key group's timers of one domain and registers them.</summary>
    private void ReadGroupTimers(ref SnapshotReader r, TimerDomain domain, List<int> slots)
    {
        var n = r.ReadCount(100_000_000, "timer");
        for (var i = 0; i < n; i++)
        {
            var index = r.ReadInt32();
            var time = r.ReadInt64();
            if ((uint)index >= (uint)slots.Count)
            {
                throw new CheckpointFormatException($"Timer names entry {index} of a key group with {slots.Count} entries.");
            }

            if (domain == TimerDomain.EventTime)
            {
                AddEventTimer(slots[index], time);
            }
            else
            {
                AddProcessingTimer(slots[index], time);
            }
        }
    }

    private void ClearAll()
    {
        _table.Clear();
        _eventTimers.Clear();
        _timerIndex.Clear();
        _processingTimers.Clear();
        _reorder.Clear();
        _sources.Clear();
        _clearedCount = 0;
        _ttlCursor = 0;
    }
}

/// <summary>A copy of a task's state taken at a checkpoint barrier; its arrays are reused from one checkpoint to the next.</summary>
public sealed class TaskSnapshot<TEvent, TKey, TState>
    where TEvent : struct
{
    internal StateEntry<TKey, TState>[] Entries = [];
    internal int EntryCount;
    internal TimerEntry[] EventTimers = [];
    internal int EventTimerCount;
    internal TimerEntry[] ProcessingTimers = [];
    internal int ProcessingTimerCount;
    internal Buffered<TEvent>[] Reorder = [];
    internal int ReorderCount;
    internal readonly List<(ulong Id, long MaxTime, SourceStatus Status, Buffered<TEvent>[] Held, int HeldCount)> Sources = [];

    /// <summary>The checkpoint's id.</summary>
    public long CheckpointId { get; internal set; }

    /// <summary>The partition.</summary>
    public int Partition { get; internal set; }

    /// <summary>Offset of the first record not reflected in the snapshot: where a restore resumes reading.</summary>
    public long NextOffset { get; internal set; }

    /// <summary>The watermark at the barrier.</summary>
    public long Watermark { get; internal set; }

    /// <summary>How long the copy held up processing in all, in <see cref="Stopwatch"/> ticks.</summary>
    public long PauseTicks { get; internal set; }

    /// <summary>The longest single hold-up (the barrier, or one step of an incremental copy), in <see cref="Stopwatch"/> ticks.</summary>
    public long LongestStepTicks { get; internal set; }

    /// <summary>The longest single hold-up of processing.</summary>
    public TimeSpan LongestStep => Stopwatch.GetElapsedTime(0, LongestStepTicks);

    /// <summary>Whether the copy is complete and the snapshot can be written.</summary>
    public bool IsComplete { get; internal set; }

    /// <summary>How long the copy held up processing.</summary>
    public TimeSpan Pause => Stopwatch.GetElapsedTime(0, PauseTicks);

    internal bool Ended { get; set; }
}
