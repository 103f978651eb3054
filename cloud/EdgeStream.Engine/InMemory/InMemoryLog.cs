namespace EdgeStream.Engine.InMemory;

/// <summary>
/// A partitioned log held in memory: for tests, benchmarks and embedding the engine where records
/// come from code rather than a durable log. Appends are thread-safe; a sealed partition reports
/// <see cref="ReadStatus.Ended"/> once read to its end.
/// </summary>
/// <remarks>
/// Records are packed into large byte pages with a fixed-size index beside them, not kept as two small
/// arrays each: a log of millions of records is then a few hundred large objects without references,
/// which the garbage collector neither traces nor copies, so holding it does not lengthen the pauses
/// of everything else in the process (the engine's latency among them). An append allocates nothing
/// but a new page or index block now and then.
/// </remarks>
public sealed class InMemoryLog : IPartitionedSource
{
    private readonly Partition[] _partitions;

    /// <summary>Creates a log of <paramref name="partitions"/> partitions.</summary>
    public InMemoryLog(int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        _partitions = Enumerable.Range(0, partitions).Select(_ => new Partition()).ToArray();
    }

    /// <inheritdoc />
    public int PartitionCount => _partitions.Length;

    /// <summary>Appends a record; returns its offset.</summary>
    public long Append(int partition, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var p = _partitions[partition];
        TaskCompletionSource? waiter;
        long offset;
        lock (p)
        {
            if (p.Sealed)
            {
                throw new InvalidOperationException($"Partition {partition} is sealed.");
            }

            offset = p.Add(key, value);
            waiter = p.TakeWaiter();
        }

        waiter?.TrySetResult();
        return offset;
    }

    /// <summary>Marks a partition complete: readers report <see cref="ReadStatus.Ended"/> after its last record.</summary>
    public void Seal(int partition)
    {
        var p = _partitions[partition];
        TaskCompletionSource? waiter;
        lock (p)
        {
            p.Sealed = true;
            waiter = p.TakeWaiter();
        }

        waiter?.TrySetResult();
    }

    /// <summary>Records in a partition.</summary>
    public long Length(int partition)
    {
        var p = _partitions[partition];
        lock (p)
        {
            return p.Count;
        }
    }

    /// <inheritdoc />
    public IPartitionReader OpenReader(int partition, long nextOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nextOffset);
        return new Reader(this, partition, nextOffset);
    }

    /// <summary>Where one record's bytes are: its page, where its key starts there, and the two lengths.</summary>
    private readonly record struct Slot(int Page, int Start, int KeyLength, int ValueLength);

    private sealed class Partition
    {
        // 1 MiB pages and 8,192-slot index blocks (128 KiB) both live on the large-object heap.
        private const int PageSize = 1 << 20;
        private const int BlockShift = 13;
        private const int BlockSize = 1 << BlockShift;

        private readonly List<byte[]> _pages = [];
        private readonly List<Slot[]> _blocks = [];
        private int _pageUsed = PageSize;
        private TaskCompletionSource? _waiter;

        public long Count { get; private set; }

        public bool Sealed { get; set; }

        public long Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            var size = key.Length + value.Length;
            if (_pages.Count == 0 || _pageUsed + size > _pages[^1].Length)
            {
                _pages.Add(new byte[Math.Max(PageSize, size)]);
                _pageUsed = 0;
            }

            var page = _pages[^1];
            key.CopyTo(page.AsSpan(_pageUsed));
            value.CopyTo(page.AsSpan(_pageUsed + key.Length));
            var offset = Count;
            var inBlock = (int)(offset & (BlockSize - 1));
            if (inBlock == 0)
            {
                _blocks.Add(new Slot[BlockSize]);
            }

            _blocks[^1][inBlock] = new Slot(_pages.Count - 1, _pageUsed, key.Length, value.Length);
            _pageUsed += size;
            Count = offset + 1;
            return offset;
        }

        /// <summary>Copies the record at <paramref name="offset"/> into the batch; false when the batch is full.</summary>
        public bool CopyTo(long offset, RecordBatch batch)
        {
            var slot = _blocks[(int)(offset >> BlockShift)][(int)(offset & (BlockSize - 1))];
            var bytes = _pages[slot.Page].AsSpan(slot.Start, slot.KeyLength + slot.ValueLength);
            return batch.TryAdd(offset, bytes[..slot.KeyLength], bytes[slot.KeyLength..]);
        }

        /// <summary>The signal a reader waits on for the next append; created only when a reader waits.</summary>
        public Task WaitForAppend()
        {
            _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _waiter.Task;
        }

        public TaskCompletionSource? TakeWaiter()
        {
            var waiter = _waiter;
            _waiter = null;
            return waiter;
        }
    }

    private sealed class Reader(InMemoryLog log, int partition, long next) : IPartitionReader
    {
        public int Partition => partition;

        public long EndOffset => log.Length(partition);

        public long Committed { get; private set; } = -1;

        public async ValueTask<ReadStatus> ReadAsync(RecordBatch batch, TimeSpan maxWait, CancellationToken cancellationToken)
        {
            batch.Clear();
            var p = log._partitions[partition];
            for (var attempt = 0; attempt < 2; attempt++)
            {
                Task wait;
                lock (p)
                {
                    while (next < p.Count && p.CopyTo(next, batch))
                    {
                        next++;
                    }

                    if (batch.Count > 0)
                    {
                        return ReadStatus.Records;
                    }

                    if (p.Sealed)
                    {
                        return ReadStatus.Ended;
                    }

                    wait = p.WaitForAppend();
                }

                if (attempt == 0)
                {
                    await wait.WaitAsync(maxWait, TimeProvider.System, cancellationToken).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            return ReadStatus.CaughtUp;
        }

        public ValueTask CommitAsync(long nextOffset, CancellationToken cancellationToken)
        {
            Committed = nextOffset;
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
