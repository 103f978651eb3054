namespace EdgeStream.EventLog.Embedded;

/// <summary>
/// A member of an embedded consumer group. Partitions are spread over the group's live members
/// (partition p goes to member p mod n, in join order); a partition changes hands only after its
/// previous owner has released it at its next <see cref="ConsumeAsync"/> (after its revoke callback),
/// so two members never read the same partition at once.
/// </summary>
internal sealed class EmbeddedConsumer : IEventLogConsumer
{
    private const int ChunkBytes = 256 * 1024;

    private readonly EmbeddedEventLog _log;
    private readonly EmbeddedEventLog.GroupState _group;
    private readonly LogConsumerOptions _options;
    private readonly Dictionary<int, Cursor> _cursors = [];
    private readonly List<LogRecord> _batch = [];
    private int[] _assignment = [];
    private int _generation = -1;
    private int _nextPartition;
    private bool _disposed;

    public EmbeddedConsumer(EmbeddedEventLog log, EmbeddedEventLog.GroupState group, LogConsumerOptions options)
    {
        _log = log;
        _group = group;
        _options = options;
        lock (group.Sync)
        {
            group.Members.Add(this);
            group.Generation++;
        }

        log.PulseAppended();
    }

    public string GroupId => _group.GroupId;

    public IReadOnlyList<int> Assignment => _assignment;

    /// <summary>Records skipped because retention deleted them before this member read them.</summary>
    public long SkippedByRetention { get; private set; }

    public async ValueTask<IReadOnlyList<LogRecord>> ConsumeAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var deadline = DateTime.UtcNow + maxWait;
        foreach (var cursor in _cursors.Values)
        {
            cursor.Used = 0;
        }

        _batch.Clear();
        while (true)
        {
            // Take the signal before looking, so an append that lands in between still wakes us.
            var change = _log.NextChange;
            Rebalance();
            ReadAvailable();
            if (_batch.Count > 0 || _log.IsDisposed)
            {
                return _batch;
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return _batch;
            }

            await Task.WhenAny(change, Task.Delay(remaining, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public void Seek(int partition, long offset)
    {
        if (!_cursors.TryGetValue(partition, out var cursor))
        {
            throw new InvalidOperationException($"Partition {partition} is not assigned to this member of group '{GroupId}'.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        cursor.MoveTo(offset);
    }

    public Task CommitAsync(IReadOnlyList<LogPosition> nextOffsets, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_group.Sync)
        {
            foreach (var o in nextOffsets)
            {
                if ((uint)o.Partition >= (uint)_group.Owners.Length || _group.Owners[o.Partition] != this)
                {
                    throw new EventLogException($"Cannot commit partition {o.Partition} for group '{GroupId}': this member does not own it (it was reassigned).");
                }
            }
        }

        return _group.CommitAsync(nextOffsets, cancellationToken);
    }

    public Task<long?> GetCommittedAsync(int partition, CancellationToken cancellationToken = default) =>
        Task.FromResult(_group.GetCommitted(partition));

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_assignment.Length > 0)
        {
            _options.OnPartitionsRevoked?.Invoke(_assignment);
        }

        lock (_group.Sync)
        {
            _group.Members.Remove(this);
            for (var p = 0; p < _group.Owners.Length; p++)
            {
                if (_group.Owners[p] == this)
                {
                    _group.Owners[p] = null;
                }
            }

            _group.Generation++;
        }

        foreach (var c in _cursors.Values)
        {
            c.Dispose();
        }

        _cursors.Clear();
        _log.PulseAppended();
    }

    private void Rebalance()
    {
        int[] desired;
        lock (_group.Sync)
        {
            if (_generation == _group.Generation && _assignment.Length == Desired().Count)
            {
                return;
            }

            desired = [.. Desired()];
        }

        var revoked = _assignment.Where(p => !desired.Contains(p)).ToArray();
        if (revoked.Length > 0)
        {
            _options.OnPartitionsRevoked?.Invoke(revoked);
            foreach (var p in revoked)
            {
                _cursors.Remove(p, out var c);
                c?.Dispose();
            }
        }

        var acquired = new List<int>();
        var complete = true;
        lock (_group.Sync)
        {
            foreach (var p in revoked)
            {
                _group.Owners[p] = null;
            }

            foreach (var p in desired)
            {
                if (_group.Owners[p] is null)
                {
                    _group.Owners[p] = this;
                    acquired.Add(p);
                }
                else if (_group.Owners[p] != this)
                {
                    complete = false;
                }
            }

            // Until every desired partition is ours, look again at each call (its owner releases it soon).
            _generation = complete ? _group.Generation : -1;
        }

        _assignment = [.. _assignment.Where(p => !revoked.Contains(p)).Concat(acquired).Order()];
        foreach (var p in acquired)
        {
            var partition = _log.GetPartition(p);
            var start = _options.StartOffsetFor?.Invoke(p)
                ?? _group.GetCommitted(p)
                ?? (_options.StartFrom == OffsetReset.Earliest ? partition.StartOffset : partition.DurableEnd);
            _cursors[p] = new Cursor(partition, start);
        }

        if (revoked.Length > 0)
        {
            _log.PulseAppended();
        }

        if (acquired.Count > 0)
        {
            _options.OnPartitionsAssigned?.Invoke(acquired);
        }
    }

    private List<int> Desired()
    {
        var index = _group.Members.IndexOf(this);
        var n = _group.Members.Count;
        var result = new List<int>();
        for (var p = index; p < _group.Owners.Length && index >= 0; p += n)
        {
            result.Add(p);
        }

        return result;
    }

    private void ReadAvailable()
    {
        if (_assignment.Length == 0)
        {
            return;
        }

        // Round-robin the starting partition so one busy partition cannot starve the others.
        for (var i = 0; i < _assignment.Length && _batch.Count < _options.MaxBatchRecords; i++)
        {
            var p = _assignment[(_nextPartition + i) % _assignment.Length];
            SkippedByRetention += _cursors[p].Read(_batch, _options.MaxBatchRecords, _log.MaxRecordBytes);
        }

        _nextPartition++;
    }

    /// <summary>A member's read position in one partition: the segment file it has open and where in it.</summary>
    private sealed class Cursor(PartitionLog partition, long nextOffset) : IDisposable
    {
        private Segment? _segment;
        private FileStream? _file;
        private long _filePos = -1;
        private byte[] _buffer = new byte[ChunkBytes];

        public long NextOffset { get; private set; } = nextOffset;

        /// <summary>Bytes of the buffer handed out in the current batch (they must not be overwritten).</summary>
        public int Used { get; set; }

        public void MoveTo(long offset)
        {
            NextOffset = offset;
            _segment = null;
            _filePos = -1;
        }

        /// <summary>Appends readable records to <paramref name="batch"/>; returns how many were skipped by retention.</summary>
        public long Read(List<LogRecord> batch, int max, int maxRecordBytes)
        {
            long skipped = 0;
            while (batch.Count < max)
            {
                var durableEnd = partition.DurableEnd;
                if (NextOffset >= durableEnd)
                {
                    return skipped;
                }

                var segments = partition.Segments;
                if (NextOffset < segments[0].BaseOffset)
                {
                    skipped += segments[0].BaseOffset - NextOffset;
                    MoveTo(segments[0].BaseOffset);
                }

                if (_segment is null || !Contains(segments, _segment, NextOffset))
                {
                    OpenSegmentFor(segments, maxRecordBytes);
                }

                var segment = _segment!;
                var limit = segment.DurableLength;
                if (_filePos >= limit)
                {
                    if (NextOffset >= segment.DurableEndOffset && segment != segments[^1])
                    {
                        _segment = null;
                        continue;
                    }

                    return skipped;
                }

                // A buffer holds records of the current batch; when it is used up, use a new one
                // rather than overwrite them.
                var free = _buffer.Length - Used;
                var want = (int)Math.Min(limit - _filePos, int.MaxValue);
                if (free < Math.Min(want, RecordFormat.HeaderBytes + RecordFormat.FixedBodyBytes + 64))
                {
                    if (Used > 0 && batch.Count > 0)
                    {
                        return skipped;
                    }

                    Used = 0;
                    free = _buffer.Length;
                }

                var toRead = Math.Min(free, want);
                _file!.Position = _filePos;
                var n = _file.ReadAtLeast(_buffer.AsSpan(Used, toRead), toRead, throwOnEndOfStream: false);
                var span = _buffer.AsSpan(Used, n);
                var consumed = 0;
                var progressed = false;
                while (batch.Count < max)
                {
                    var status = RecordFormat.TryRead(span[consumed..], maxRecordBytes, out var size, out var offset, out var ts, out var keyLength);
                    if (status == RecordFormat.ReadStatus.Corrupt)
                    {
                        throw new EventLogException($"Segment '{segment.Path}' is corrupt at byte {_filePos + consumed} (partition {partition.Partition}, offset {NextOffset}).");
                    }

                    if (status == RecordFormat.ReadStatus.NeedMore)
                    {
                        if (consumed == 0 && size > free)
                        {
                            // A record larger than what is left of the buffer: grow for it and retry.
                            if (Used > 0 && batch.Count > 0)
                            {
                                return skipped;
                            }

                            _buffer = new byte[Math.Max(size, ChunkBytes)];
                            Used = 0;
                            progressed = true;
                        }

                        break;
                    }

                    progressed = true;
                    if (offset >= NextOffset && offset < durableEnd)
                    {
                        var bodyStart = Used + consumed + RecordFormat.HeaderBytes + RecordFormat.FixedBodyBytes;
                        var valueLength = size - RecordFormat.HeaderBytes - RecordFormat.FixedBodyBytes - keyLength;
                        batch.Add(new LogRecord(
                            partition.Partition,
                            offset,
                            ts,
                            _buffer.AsMemory(bodyStart, keyLength),
                            _buffer.AsMemory(bodyStart + keyLength, valueLength)));
                        NextOffset = offset + 1;
                    }
                    else if (offset >= durableEnd)
                    {
                        break;
                    }

                    consumed += size;
                }

                _filePos += consumed;
                Used += consumed;
                if (!progressed)
                {
                    return skipped;
                }
            }

            return skipped;
        }

        public void Dispose() => _file?.Dispose();

        private static bool Contains(Segment[] segments, Segment segment, long offset)
        {
            var i = Array.IndexOf(segments, segment);
            return i >= 0 && offset >= segment.BaseOffset && (i == segments.Length - 1 || offset < segments[i + 1].BaseOffset);
        }

        private void OpenSegmentFor(Segment[] segments, int maxRecordBytes)
        {
            var i = segments.Length - 1;
            while (i > 0 && segments[i].BaseOffset > NextOffset)
            {
                i--;
            }

            _file?.Dispose();
            _segment = segments[i];
            _file = new FileStream(_segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            _filePos = NextOffset == _segment.BaseOffset ? 0 : _segment.PositionAtOrBefore(NextOffset, maxRecordBytes);
        }
    }
}
