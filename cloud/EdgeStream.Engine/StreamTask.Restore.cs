using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;
using EdgeStream.Engine.Time;

namespace EdgeStream.Engine;

/// <summary>
/// Restoring a task from a checkpoint written by <see cref="CheckpointWriter{TEvent,TKey,TState,TOutput}"/>:
/// the whole state of the same partition, or the key groups that moved to this task from another.
/// </summary>
public sealed partial class StreamTask<TEvent, TKey, TState, TOutput>
{
    /// <summary>
    /// Replaces the task's whole state with a checkpoint of the same partition: offsets, watermark,
    /// source clocks, buffered events, keyed state and timers. Sources restart their idle timeout.
    /// </summary>
    public void Restore(ReadOnlySpan<byte> payload)
    {
        ThrowIfCopying();
        var r = new SnapshotReader(payload);
        var version = r.ReadInt32();
        if (version != CheckpointFormat.Version)
        {
            throw new CheckpointFormatException($"Checkpoint format version {version} is not supported (expected {CheckpointFormat.Version}).");
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
        if (r.ReadInt32() != CheckpointFormat.Version)
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
        if (_checkpoints.IsCopying)
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
