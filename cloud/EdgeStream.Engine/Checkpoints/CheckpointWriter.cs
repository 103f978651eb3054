using System.Diagnostics;
using System.Runtime.CompilerServices;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;
using EdgeStream.Engine.Time;

namespace EdgeStream.Engine.Checkpoints;

/// <summary>The byte layout of a task checkpoint, written by <see cref="CheckpointWriter{TEvent,TKey,TState,TOutput}"/> and read by the task's restore.</summary>
internal static class CheckpointFormat
{
    public const int Version = 1;
}

/// <summary>
/// Takes and writes the checkpoints of one task. <see cref="Begin"/> runs on the task's thread and only
/// copies flat arrays (state entries, timer heaps, reorder buffers, source clocks), which is the whole
/// pause; <see cref="Write"/> turns the copy into bytes on any thread while processing goes on. It reads
/// the task's structures but never changes them: the task tells it, through
/// <see cref="BeforeEntryChange"/>, when an entry is about to change during an incremental copy.
/// </summary>
internal sealed class CheckpointWriter<TEvent, TKey, TState, TOutput>
    where TEvent : struct
    where TKey : notnull, IEquatable<TKey>
    where TState : struct
{
    private readonly StreamJob<TEvent, TKey, TState, TOutput> _job;
    private readonly int _keyGroupCount;
    private readonly KeyedStateTable<TKey, TState> _table;
    private readonly TimerCalendar _eventTimers;
    private readonly TimerQueue _processingTimers;
    private readonly ReorderBuffer<TEvent> _reorder;
    private readonly SourceClocks<TEvent> _sources;
    private TaskSnapshot<TEvent, TKey, TState>? _spare;
    private TaskSnapshot<TEvent, TKey, TState>? _copying;
    private int _copyCursor;
    private int _copyHigh;
    private ulong[] _copied = [];

    public CheckpointWriter(
        StreamJob<TEvent, TKey, TState, TOutput> job,
        int keyGroupCount,
        KeyedStateTable<TKey, TState> table,
        TimerCalendar eventTimers,
        TimerQueue processingTimers,
        ReorderBuffer<TEvent> reorder,
        SourceClocks<TEvent> sources)
    {
        _job = job;
        _keyGroupCount = keyGroupCount;
        _table = table;
        _eventTimers = eventTimers;
        _processingTimers = processingTimers;
        _reorder = reorder;
        _sources = sources;
    }

    /// <summary>Whether an incremental copy of keyed state is still in progress.</summary>
    public bool IsCopying => _copying is not null;

    /// <summary>
    /// Takes a checkpoint barrier (see <see cref="StreamTask{TEvent,TKey,TState,TOutput}.BeginCheckpoint"/>):
    /// timers, buffered events and source clocks are copied at once, keyed state at once or, when
    /// <paramref name="incrementalChunk"/> is positive and the table larger, by <see cref="Continue"/>.
    /// </summary>
    public TaskSnapshot<TEvent, TKey, TState> Begin(long checkpointId, int partition, long nextOffset, long watermark, bool ended, int incrementalChunk)
    {
        if (_copying is not null)
        {
            throw new InvalidOperationException("A checkpoint copy is already in progress.");
        }

        var started = Stopwatch.GetTimestamp();
        var s = Interlocked.Exchange(ref _spare, null) ?? new TaskSnapshot<TEvent, TKey, TState>();
        s.CheckpointId = checkpointId;
        s.Partition = partition;
        s.NextOffset = nextOffset;
        s.Watermark = watermark;
        s.Ended = ended;

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
    /// Copies up to <paramref name="maxEntries"/> more entries of an incremental copy; returns true when
    /// the copy is complete (or none is in progress).
    /// </summary>
    public bool Continue(int maxEntries)
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

    /// <summary>Before an entry changes during an incremental copy: keep its barrier-time value (copy-on-write).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void BeforeEntryChange(int slot, bool added)
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
    public void Release(TaskSnapshot<TEvent, TKey, TState> snapshot)
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
    public void Write(TaskSnapshot<TEvent, TKey, TState> s, SnapshotWriter w)
    {
        if (!s.IsComplete)
        {
            throw new InvalidOperationException("The snapshot's incremental copy is not complete.");
        }

        w.WriteInt32(CheckpointFormat.Version);
        w.WriteInt32(s.Partition);
        w.WriteInt64(s.NextOffset);
        w.WriteInt64(s.Watermark);
        w.WriteByte(s.Ended ? (byte)1 : (byte)0);
        w.WriteInt32(_keyGroupCount);

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
        var groups = _keyGroupCount;
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
}
