namespace EdgeStream.Engine.InMemory;

/// <summary>
/// A partitioned log held in memory: for tests, benchmarks and embedding the engine where records
/// come from code rather than a durable log. Appends are thread-safe; a sealed partition reports
/// <see cref="ReadStatus.Ended"/> once read to its end.
/// </summary>
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
        TaskCompletionSource signal;
        long offset;
        lock (p)
        {
            if (p.Sealed)
            {
                throw new InvalidOperationException($"Partition {partition} is sealed.");
            }

            offset = p.Records.Count;
            p.Records.Add((key.ToArray(), value.ToArray()));
            signal = p.Signal;
            p.Signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
        return offset;
    }

    /// <summary>Marks a partition complete: readers report <see cref="ReadStatus.Ended"/> after its last record.</summary>
    public void Seal(int partition)
    {
        var p = _partitions[partition];
        TaskCompletionSource signal;
        lock (p)
        {
            p.Sealed = true;
            signal = p.Signal;
            p.Signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
    }

    /// <summary>Records in a partition.</summary>
    public long Length(int partition)
    {
        var p = _partitions[partition];
        lock (p)
        {
            return p.Records.Count;
        }
    }

    /// <inheritdoc />
    public IPartitionReader OpenReader(int partition, long nextOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nextOffset);
        return new Reader(this, partition, nextOffset);
    }

    private sealed class Partition
    {
        public List<(byte[] Key, byte[] Value)> Records { get; } = [];

        public bool Sealed { get; set; }

        public TaskCompletionSource Signal { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
                    while (next < p.Records.Count && batch.TryAdd(next, p.Records[(int)next].Key, p.Records[(int)next].Value))
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

                    wait = p.Signal.Task;
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
